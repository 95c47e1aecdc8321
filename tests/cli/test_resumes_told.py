"""`saga status`, `saga resume` and `saga list` tell every execution of a resumed saga and why a resume failed."""

from __future__ import annotations

import json
import time

from harness.inprocess import InProcess
from harness.orders import US_ADDRESS, order
from infra import names
from lambdas.domain.states import SagaState
from tests.cli.invoking import saga, saga_json

UNDELIVERABLE = {**US_ADDRESS, "country": "AQ"}
"""Refused at Initiate Shipment (a country outside the serviced set): Release Inventory is the first undo."""
UNDONE_AFTER_SHIPMENT = "Release Inventory → Cancel Prescription → Cancel Order"
"""The compensations of a saga refused at shipment, in reverse order of its steps (README's graph)."""
FAULT = "InjectedPermanentFault"
"""The error the local cloud's fault plan raises for a `permanent` fault (harness/faults.py)."""


def parked(cloud: InProcess, order_id: str) -> None:
    """A saga parked because Release Inventory keeps failing (its fault plan left in force)."""
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(order(order_id, "med-3", shipping_address=UNDELIVERABLE))
    assert cloud.wait_for_sagas([order_id]) == {order_id: "COMPENSATION_FAILED"}


def test_a_resume_that_fails_again_says_which_compensation_failed_and_why(cloud: InProcess) -> None:
    parked(cloud, "told-again")
    # When the operator resumes it while the fault is still there
    result = saga("resume", "told-again")
    # Then it says it is parked again, by what and with which error (1 try + the 6 retries the README gives)
    assert result.exit_code == 1
    assert f"parked again: release inventory failed after 7 attempts: {FAULT}" in result.stdout
    again = saga("resume", "told-again", "--json")
    assert again.exit_code == 1
    assert json.loads(again.stdout)["parked_again"]["error"] == FAULT
    cloud.set_faults({})


def test_status_of_a_resumed_saga_lists_every_execution_and_says_what_the_last_did(cloud: InProcess) -> None:
    parked(cloud, "told-twice")
    assert saga("resume", "told-twice").exit_code == 1  # the fault is still there: parked again
    cloud.set_faults({})
    resumed = saga_json("resume", "told-twice")
    assert resumed["state"] == "FAILED"
    cloud.wait_for_sagas(["told-twice"])
    found = saga_json("status", "told-twice")
    # Then the saga's own execution, and each resume in the order the operator started them
    executions = found["executions"]
    assert [e["label"] for e in executions] == ["the saga's execution", "resume 1", "resume 2"]
    assert executions[0]["name"] == "told-twice"
    assert executions[2]["name"] == resumed["execution"]
    assert [s["name"] for s in executions[2]["states"] if s["name"] != "Resume Saga"] == UNDONE_AFTER_SHIPMENT.split(
        " → "
    )
    assert found["last_did"] == f"resume 2 (SUCCEEDED) ran {UNDONE_AFTER_SHIPMENT}: the saga is FAILED"
    plain = saga("status", "told-twice").stdout
    assert f"last: resume 2 (SUCCEEDED) ran {UNDONE_AFTER_SHIPMENT}: the saga is FAILED" in plain
    # resume 1 was parked again: the compensation machine ends in its Fail state (Compensation Failed)
    assert f"resume 1: {executions[1]['name']} FAILED" in plain


def test_the_parked_list_says_which_compensation_failed_and_with_what_error(cloud: InProcess) -> None:
    parked(cloud, "told-list")
    cloud.set_faults({})
    [row] = saga_json("list", "--state", "compensation_failed")
    assert row["failure_reason"].startswith(f"Release Inventory failed: {FAULT}")
    assert f"Release Inventory failed: {FAULT}" in saga("list", "--state", "compensation_failed").stdout


def test_the_parked_saga_names_its_error_once(cloud: InProcess) -> None:
    parked(cloud, "told-once")
    cloud.set_faults({})
    plain = saga("status", "told-once").stdout
    assert f"release inventory failed after 7 attempts in told-once: {FAULT}" in plain
    # The cause Record Compensation Failure keeps is the error's name: printing it again says nothing
    assert f"cause: {FAULT}" not in plain
    assert saga_json("status", "told-once")["compensation_failure"]["cause"] is None


def test_status_tells_the_compensation_machine_that_ran_after_an_execution_ended_unfinished(cloud: InProcess) -> None:
    # Given a saga whose execution is stopped while it reserves inventory (slowly)
    cloud.set_faults({"reserve_inventory": {"latency_ms": 1500, "latency": 1.0}})
    cloud.put_order(order("told-stopped", "med-2"))
    deadline = time.monotonic() + 20
    while (view := cloud.projection().get("told-stopped")) is None or view.state is not SagaState.PENDING_INVENTORY:
        assert time.monotonic() < deadline, "the saga never reached Reserve Inventory"
        time.sleep(0.02)
    machine = cloud.outputs[names.OUTPUT_STATE_MACHINE]
    cloud.client("stepfunctions").stop_execution(
        executionArn=machine.replace(":stateMachine:", ":execution:") + ":told-stopped"
    )
    # Then the compensation machine undoes it (execution_outcome), and status tells both executions
    assert cloud.wait_for_sagas(["told-stopped"], timeout=30) == {"told-stopped": "FAILED"}
    cloud.set_faults({})
    found = saga_json("status", "told-stopped")
    assert [(e["label"], e["status"]) for e in found["executions"]] == [
        ("the saga's execution", "ABORTED"),  # StopExecution's status (DescribeExecution)
        ("the compensation after it ended unfinished", "SUCCEEDED"),
    ]
    assert found["last_did"].startswith("the compensation after it ended unfinished (SUCCEEDED) ran ")
    assert found["last_did"].endswith("Cancel Prescription → Cancel Order: the saga is FAILED")
    time.sleep(1.6)  # the slow reservation wakes after its saga moved on: let it end before the cloud is checked
