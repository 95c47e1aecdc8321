"""`saga load --faults` predicts each saga's end with the fault plan it put in force."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.fault_outcomes import TRANSIENT, machine_of
from harness.inprocess import InProcess
from lambdas.domain.states import Compensation, Step
from saga_cli.main import app

runner = CliRunner()


def _load(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["load", *args, "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_the_machine_is_read_from_the_deployed_definition(cloud: InProcess) -> None:
    machine = machine_of(cloud)
    # infra/saga_workflow.py: steps retry transient errors 3 times, compensations every error 6 times
    assert machine.tries[Step.RESERVE_INVENTORY.value][TRANSIENT] == 1 + 3
    assert machine.tries[Compensation.CANCEL_ORDER.value][TRANSIENT] == 1 + 6
    # README: a crashed shipment is cancelled too, then everything before it, in reverse order
    assert machine.undo_when_crashed[Step.INITIATE_SHIPMENT] == (
        Compensation.CANCEL_SHIPMENT,
        Compensation.RELEASE_INVENTORY,
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    )
    assert machine.undo_when_refused[Step.CREATE_PRESCRIPTION] == (Compensation.CANCEL_ORDER,)


@pytest.mark.allow_errors("InjectedPermanentFault")
def test_a_step_that_always_fails_is_predicted_to_fail_every_saga_that_reaches_it(cloud: InProcess) -> None:
    plan = json.dumps({"initiate_shipment": {"permanent": 1}})
    summary = _load("--orders", "4", "--mix", "valid=1,no-stock=1", "--faults", plan)
    # valid orders crash at the shipment, no-stock ones are refused before it: every one FAILED
    assert summary["predicted_states"] == summary["final_states"] == {"FAILED": 4}
    assert summary["as_predicted"] is True


@pytest.mark.allow_errors("InjectedPermanentFault")
def test_a_compensation_that_always_fails_parks_the_sagas_that_need_it_and_only_those(cloud: InProcess) -> None:
    plan = json.dumps({"cancel_order": {"permanent": 1}})
    summary = _load("--orders", "4", "--mix", "valid=1,unknown-med=1", "--faults", plan)
    assert summary["predicted_states"] == summary["final_states"] == {"COMPLETED": 2, "COMPENSATION_FAILED": 2}
    assert summary["as_predicted"] is True


def test_drawn_faults_are_predicted_saga_by_saga(cloud: InProcess) -> None:
    # Each attempt its own draw: some sagas exhaust Reserve Inventory's tries and are undone, the others
    # go on; which ones is known from the plan's seed before any order is sent.
    # A valid saga is undone when all 4 tries fail: 0.95 ** 4, about 0.81 of them, so that none of the 12
    # is undone has a chance of 0.19 ** 12 (about 2e-9); which ones are depends on the run's order ids.
    plan = json.dumps({"seed": 11, "reserve_inventory": {"transient": 0.95}})
    summary = _load("--orders", "16", "--mix", "valid=3,undeliverable=1", "--faults", plan)
    assert summary["as_predicted"] is True, summary
    assert Counter(summary["final_states"]) == Counter(summary["predicted_states"])
    assert summary["final_states"].get("FAILED", 0) > 4, "some valid orders were undone by the faults"
