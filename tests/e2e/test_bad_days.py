"""End to end on the bad days: duplicates, invalid input, poison messages, faults, replay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.inprocess import InProcess, deployed
from harness.target import Target
from harness.waiting import SagaTimeout, poll
from infra import names
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from lambdas.logic import faults
from lambdas.logic.project import replay
from localcloud.deploy import CloudAssembly
from tests.e2e.helpers import (
    drain,
    event_store,
    execution_arn,
    executions,
    history,
    order,
    projection,
    published,
    records,
    states_entered,
    stock,
    view,
)


def test_the_same_order_three_times_also_concurrently_is_one_saga(target: Target, unique: Callable[[str], str]) -> None:
    cloud, dup_1 = target, unique("dup-1")
    before = stock(cloud)
    duplicate = order(dup_1, {"medication_id": "med-3", "quantity": 2})
    # Given the same OrderCreated delivered three times at once, then once more later
    threads = [threading.Thread(target=cloud.put_order, args=(duplicate,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cloud.wait_for_sagas([dup_1])
    cloud.put_order(duplicate)
    assert cloud.wait_for_sagas([dup_1]) == {dup_1: "COMPLETED"}
    # Then one execution, one saga, stock taken once
    assert [e["name"] for e in executions(cloud) if e["name"].startswith(dup_1)] == [dup_1]
    assert [e.type for e in history(cloud, dup_1)].count(ev.OrderFulfillmentSagaStarted.TYPE_KEY) == 1
    assert stock(cloud)["med-3"] == (before["med-3"][0] - 2, before["med-3"][1] + 2)


def test_an_invalid_order_is_rejected_with_its_reason_and_the_raw_message_kept(
    target: Target, unique: Callable[[str], str]
) -> None:
    cloud, invalid_1 = target, unique("invalid-1")
    raw = order(invalid_1, {"medication_id": "med-1", "quantity": 0})
    del raw["patient_id"]
    cloud.put_order(raw)
    assert cloud.wait_for_sagas([invalid_1]) == {invalid_1: "REJECTED"}
    saga = view(cloud, invalid_1)
    assert saga.failure_reason is not None
    assert "patient_id: is required" in saga.failure_reason
    assert "medications.0.quantity" in saga.failure_reason
    [rejected] = history(cloud, invalid_1)
    assert rejected.type == ev.OrderRejected.TYPE_KEY
    assert json.loads(rejected.payload["raw_message"])["detail"] == raw
    # nothing half-done: no execution, no prescription, no reservation
    assert [e for e in executions(cloud) if e["name"].startswith(invalid_1)] == []
    assert records(cloud, "Prescriptions", invalid_1) == []
    assert records(cloud, "Reservations", invalid_1) == []
    # the raw message stays private: the published rejection carries the reasons only
    rejections: list[dict[str, Any]] = []

    def published_rejection() -> bool | None:  # the publisher follows the stream: on AWS, a moment later
        rejections.extend(
            p
            for p in published(cloud)
            if p["detail-type"] == ev.OrderRejected.TYPE_KEY and p["detail"]["metadata"]["correlation_id"] == invalid_1
        )
        return True if rejections else None

    poll(published_rejection, timeout=30)
    [public] = rejections
    assert "raw_message" not in public["detail"]["payload"]


@pytest.mark.allow_errors("UnusableMessage", "BatchProcessingError")
@pytest.mark.parametrize(
    "detail", [{"patient_id": "p", "medications": ["med-1"]}, {"order_id": "has spaces", "medications": []}]
)
def test_a_message_without_a_usable_order_id_ends_in_the_dead_letter_queue(
    cloud: InProcess, detail: dict[str, object]
) -> None:
    cloud.put_order(detail)
    cloud.local.wait_until_idle()
    dead = drain(cloud, cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE])
    assert [json.loads(d)["detail"] for d in dead] == [detail]
    assert executions(cloud) == []
    assert list(projection(cloud).all()) == []


@pytest.mark.allow_errors("UnusableMessage", "BatchProcessingError")
def test_one_bad_message_does_not_block_the_others_in_its_batch(cloud: InProcess) -> None:
    start_queue = cloud.outputs[names.OUTPUT_START_QUEUE]
    good = {"detail": order("batch-good", "med-1")}
    cloud.client("sqs").send_message_batch(
        QueueUrl=start_queue,
        Entries=[
            {"Id": "bad", "MessageBody": "this is not json"},
            {"Id": "good", "MessageBody": json.dumps(good)},
        ],
    )
    assert cloud.wait_for_sagas(["batch-good"]) == {"batch-good": "COMPLETED"}
    cloud.local.wait_until_idle()
    assert drain(cloud, cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE]) == ["this is not json"]


def test_a_transient_failure_is_retried_and_the_saga_completes(cloud: InProcess) -> None:
    cloud.set_faults({"reserve_inventory": {"transient_attempts": 1}})
    cloud.put_order(order("flaky", "med-1"))
    assert cloud.wait_for_sagas(["flaky"]) == {"flaky": "COMPLETED"}
    attempts = [e for e in cloud.local.runtime.errors if e[1] == "InjectedTransientFault"]
    assert len(attempts) == 1
    assert states_entered(cloud, "flaky") == ["Create Prescription", "Reserve Inventory", "Initiate Shipment"]


def test_a_new_deployment_starts_without_the_last_ones_fault_plan(
    assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Functions hold a plan they read for a while; here far longer than the test takes.
    monkeypatch.setattr(faults, "PLAN_MAX_AGE_SECONDS", 600)
    with deployed(assembly) as first:
        first.set_faults({"create_prescription": {"permanent": 1.0}})
        first.put_order(order("doomed", "med-1"))
        assert first.wait_for_sagas(["doomed"]) == {"doomed": "FAILED"}
    # A new deployment has new functions: nothing of the old ones' plan is left in them.
    with deployed(assembly) as second:
        second.put_order(order("fresh", "med-1"))
        assert second.wait_for_sagas(["fresh"]) == {"fresh": "COMPLETED"}
        assert second.local.runtime.errors == []


def test_a_compensation_that_always_fails_parks_the_saga_and_raises_an_alert(cloud: InProcess) -> None:
    # Given cancelling a prescription fails every time, and an order that fails at inventory
    cloud.set_faults({"cancel_prescription": {"permanent": 1.0}})
    cloud.put_order(order("parked", "med-1", "med-scarce"))
    # Then after every retry the saga is parked, not silently failed
    assert cloud.wait_for_sagas(["parked"]) == {"parked": "COMPENSATION_FAILED"}
    assert states_entered(cloud, "parked") == [
        "Create Prescription",
        "Reserve Inventory",
        "Cancel Prescription",
        "Record Compensation Failure",
        "Compensation Failed",
    ]
    attempts = [e for e in cloud.local.runtime.errors if e[1] == "InjectedPermanentFault"]
    assert len(attempts) == 1 + 6, "a compensation is retried six times before the saga is parked"
    alerts = [p for p in published(cloud) if p["detail-type"] == ev.CompensationFailed.TYPE_KEY]
    assert [a["detail"]["payload"]["compensation"] for a in alerts] == ["cancel_prescription"]
    assert view(cloud, "parked").state is SagaState.COMPENSATION_FAILED
    assert cloud.local.runtime.errors, "the failures were raised, not swallowed"


def test_replay_rebuilds_a_projection_identical_to_the_live_one(cloud: InProcess) -> None:
    cloud.put_order(order("r-ok", "med-1"))
    cloud.put_order(order("r-fail", "unknown"))
    cloud.put_order({"order_id": "r-bad"})
    cloud.wait_for_sagas(["r-ok", "r-fail", "r-bad"])
    live = {v.order_id: v for v in projection(cloud).all()}
    rebuilt = replay(event_store(cloud).iter_all())
    assert rebuilt == live
    assert set(live) == {"r-ok", "r-fail", "r-bad"}


def test_an_execution_that_ends_unfinished_still_ends_its_saga_and_takes_no_stock(cloud: InProcess) -> None:
    # Given a reservation that is slow, and an order stuck in it
    before = stock(cloud)
    cloud.set_faults({"reserve_inventory": {"latency_ms": 1500, "latency": 1.0}})
    cloud.put_order(order("aborted", "med-2"))
    deadline = time.monotonic() + 20
    while (saga := cloud.projection().get("aborted")) is None or saga.state is not SagaState.PENDING_INVENTORY:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # When the execution is stopped mid-step (as a timeout or an operator would)
    cloud.client("stepfunctions").stop_execution(executionArn=execution_arn(cloud, "aborted"), error="Stopped")
    # Then the status change reaches the outcome handler, which compensates the saga
    assert cloud.wait_for_sagas(["aborted"]) == {"aborted": "FAILED"}
    time.sleep(2)  # the slow reservation wakes up after the compensations ran
    cloud.local.wait_until_idle()
    saga = view(cloud, "aborted")
    assert saga.state is SagaState.FAILED
    # Stopped while reserving, or just after (then waiting on the shipment, undone first, a no-op):
    assert saga.compensations_run in {
        ("release_inventory", "cancel_prescription", "cancel_order"),
        ("cancel_shipment", "release_inventory", "cancel_prescription", "cancel_order"),
    }
    assert [p["status"]["S"] for p in records(cloud, "Prescriptions")] == ["CANCELLED"]
    # and whatever the step reserved was released: no stock taken, no reservation left active
    assert all(r["status"]["S"] == "RELEASED" for r in records(cloud, "Reservations"))
    assert stock(cloud) == before
    assert "execution ABORTED" in [e.payload.get("reason") for e in history(cloud, "aborted")]


def test_waiting_names_the_sagas_still_running_at_the_timeout_and_reads_in_batches(cloud: InProcess) -> None:
    # Given a slow saga among 150 order ids that mostly have no saga at all (two BatchGetItem pages)
    cloud.set_faults({"create_prescription": {"latency_ms": 800, "latency": 1.0}})
    cloud.put_order(order("slow", "med-1"))
    ids = ["slow", *(f"never-{n}" for n in range(149))]
    # When we wait less than the saga takes
    states, unsettled = cloud.settle(ids, timeout=0.2)
    # Then nothing is raised: the unsettled ids come back, the slow one among them
    assert states == {}
    assert unsettled == ids
    with pytest.raises(SagaTimeout, match="slow"):
        cloud.wait_for_sagas(["slow"], timeout=0.1)
    # And once it settles, it is read like any other
    assert cloud.wait_for_sagas(["slow"]) == {"slow": "COMPLETED"}
    assert set(cloud.projection().get_many(ids)) == {"slow"}
    assert cloud.projection().states(ids) == {"slow": "COMPLETED"}
