"""Sagas whose execution does not finish: a crashed step, a timed-out saga, a stopped compensation,
a stream batch given up. Each ends with every compensation done, or parked with a trace, never pending."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.inprocess import InProcess, deployed
from infra import names
from lambdas.domain import events as ev
from lambdas.domain.executions import Run, execution_name
from lambdas.domain.states import SagaState
from localcloud.deploy import CloudAssembly
from tests.e2e.helpers import edited_assembly, history, order, records, stock, view

UNDONE_BY_ITSELF = {
    "create_prescription": ("cancel_prescription", "cancel_order"),
    "reserve_inventory": ("release_inventory", "cancel_prescription", "cancel_order"),
    "initiate_shipment": ("cancel_shipment", "release_inventory", "cancel_prescription", "cancel_order"),
}
TOMBSTONE = {
    "create_prescription": ("Prescriptions", "prescription_id", "CANCELLED"),
    "reserve_inventory": ("Reservations", "reservation_id", "RELEASED"),
    "initiate_shipment": ("Shipments", "shipment_id", "CANCELLED"),
}


@pytest.mark.parametrize("step", list(UNDONE_BY_ITSELF))
def test_a_crashed_step_is_undone_with_everything_before_it(cloud: InProcess, step: str) -> None:
    # Given a step that crashes before it does anything (a bug, a timeout, a permanent fault)
    before = stock(cloud)
    cloud.set_faults({step: {"permanent": 1.0}})
    cloud.put_order(order(f"crash-{step}", "med-1", "med-2"))
    # Then every compensation ran, its own first, and the saga failed
    assert cloud.wait_for_sagas([f"crash-{step}"]) == {f"crash-{step}": "FAILED"}
    assert view(cloud, f"crash-{step}").compensations_run == UNDONE_BY_ITSELF[step]
    # and the crashed step's record is a tombstone, so a late run of it cannot act
    table, key, undone = TOMBSTONE[step]
    [tombstone] = records(cloud, table)
    assert set(tombstone) == {key, "status"}
    assert tombstone["status"]["S"] == undone
    assert stock(cloud) == before


@pytest.fixture
def short_deadline(assembly: CloudAssembly, tmp_path: Path) -> Iterator[InProcess]:
    """The stack with the saga's execution deadline at 2 seconds instead of 15 minutes."""

    def two_second_deadline(template: dict[str, Any]) -> None:
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::StepFunctions::StateMachine" and logical_id.startswith("SagaStateMachine"):
                parts = resource["Properties"]["DefinitionString"]["Fn::Join"][1]
                resource["Properties"]["DefinitionString"]["Fn::Join"][1] = [
                    p.replace('"TimeoutSeconds":900', '"TimeoutSeconds":2') if isinstance(p, str) else p for p in parts
                ]

    edited = edited_assembly(assembly, tmp_path / "assembly", two_second_deadline)
    with deployed(edited) as target:
        yield target
        target.local.wait_until_idle()
        assert not target.local.refusals()


def test_a_saga_past_its_deadline_is_compensated_to_the_end(short_deadline: InProcess) -> None:
    cloud = short_deadline
    before = stock(cloud)
    # Given a reservation slower than the saga's deadline
    cloud.set_faults({"reserve_inventory": {"latency_ms": 3000, "latency": 1.0}})
    cloud.put_order(order("late", "med-3"))
    # Then the execution times out, and the compensation machine undoes everything
    assert cloud.wait_for_sagas(["late"], timeout=60) == {"late": "FAILED"}
    execution = cloud.client("stepfunctions").describe_execution(
        executionArn=cloud.outputs[names.OUTPUT_STATE_MACHINE].replace(":stateMachine:", ":execution:") + ":late"
    )
    assert execution["status"] == "TIMED_OUT"
    time.sleep(1.5)  # the slow reservation wakes up after its saga moved on, and reserves nothing
    cloud.local.wait_until_idle()
    saga = view(cloud, "late")
    assert saga.compensations_run[-2:] == ("cancel_prescription", "cancel_order")
    assert "release_inventory" in saga.compensations_run
    assert stock(cloud) == before


@pytest.mark.allow_errors("InjectedPermanentFault")
def test_a_compensation_execution_that_is_stopped_parks_its_saga_for_an_operator(cloud: InProcess) -> None:
    # Given a saga whose execution was stopped while it was slow, and whose compensations are slow too
    cloud.set_faults(
        {
            "reserve_inventory": {"latency_ms": 1500, "latency": 1.0},
            "release_inventory": {"latency_ms": 3000, "latency": 1.0},
        }
    )
    cloud.put_order(order("halted", "med-2"))
    deadline = time.monotonic() + 20
    while (saga := cloud.projection().get("halted")) is None or saga.state is not SagaState.PENDING_INVENTORY:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sfn = cloud.client("stepfunctions")
    machine = cloud.outputs[names.OUTPUT_STATE_MACHINE]
    sfn.stop_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + ":halted")
    # When the compensation execution is stopped too, in the middle of its compensations
    compensating = cloud.outputs[names.OUTPUT_RESUME_STATE_MACHINE].replace(":stateMachine:", ":execution:")
    compensating += ":" + execution_name("halted", Run.COMPENSATION)
    deadline = time.monotonic() + 20
    while True:
        try:
            if sfn.describe_execution(executionArn=compensating)["status"] == "RUNNING":
                break
        except sfn.exceptions.ExecutionDoesNotExist:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    sfn.stop_execution(executionArn=compensating)
    # Then the saga is parked, with the reason, rather than left compensating forever
    assert cloud.wait_for_sagas(["halted"], timeout=30) == {"halted": "COMPENSATION_FAILED"}
    parked = [e for e in history(cloud, "halted") if e.type == ev.CompensationFailed.TYPE_KEY]
    assert [e.payload["error"] for e in parked] == ["CompensationExecutionAborted"]
    time.sleep(3.2)  # let the slow functions finish before the cloud is checked and stopped


@pytest.mark.allow_errors("RuntimeError")
@pytest.mark.allow_undelivered
def test_a_stream_batch_given_up_leaves_its_record_in_the_consumers_failure_queue(cloud: InProcess) -> None:
    # Given a publisher that fails on every batch
    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError("the bus is unreachable")

    cloud.local.runtime.replacements[names.handler_path(names.PUBLISHER)] = broken
    try:
        cloud.put_order(order("unpublished", "med-1"))
        deadline = time.monotonic() + 30
        while not cloud.local.undelivered():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        del cloud.local.runtime.replacements[names.handler_path(names.PUBLISHER)]
    # Then after its retries Lambda sends the batch's record to the publisher's failure queue
    [given_up] = cloud.local.undelivered()[:1]
    assert given_up.destination is not None
    sqs = cloud.client("sqs")
    url = sqs.get_queue_url(QueueName=given_up.destination.rsplit(":", 1)[1])["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    info = record["DDBStreamBatchInfo"]
    assert info["streamArn"] == given_up.source
    assert info["batchSize"] >= 1
    cloud.wait_for_sagas(["unpublished"])


@pytest.mark.allow_errors("IllegalTransition", "SagaNotFound")
@pytest.mark.parametrize("order_id", ["ended", "never-ordered"])
def test_resuming_a_saga_that_is_not_parked_changes_nothing_and_alerts_no_one(cloud: InProcess, order_id: str) -> None:
    # Given a saga that ended already (or none at all)
    if order_id == "ended":
        cloud.put_order(order(order_id, "med-unknown"))
        assert cloud.wait_for_sagas([order_id]) == {order_id: "FAILED"}
    before = [e.type for e in history(cloud, order_id)]
    # When the compensation machine is started for it anyway
    sfn = cloud.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=cloud.outputs[names.OUTPUT_RESUME_STATE_MACHINE],
        name=f"{order_id}-resume-1",
        input=json.dumps({"order_id": order_id}),
    )
    deadline = time.monotonic() + 30
    while (execution := sfn.describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # Then it ends in success at once, having written nothing: the saga is not parked, no alert
    assert execution["status"] == "SUCCEEDED"
    assert [e.type for e in history(cloud, order_id)] == before
