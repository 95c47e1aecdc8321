"""The business metrics each applied event stands for (the projector emits them once per event)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lambdas.domain import events as ev
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState
from lambdas.logic.outcome_metrics import Measure, measures

AT = datetime(2026, 12, 7, tzinfo=UTC)
VIEW = SagaView(order_id="o-1", state=SagaState.COMPENSATING, version=3, started_at=AT, updated_at=AT)


def _moved(from_state: SagaState, reason: str | None) -> ev.OrderFulfillmentSagaStateChanged:
    return ev.OrderFulfillmentSagaStateChanged(
        order_id="o-1", from_state=from_state, to_state=SagaState.COMPENSATING, reason=reason
    )


@pytest.mark.parametrize("error", ["PharmacyUnavailable", "ConcurrencyConflict"])
def test_a_step_that_gave_up_on_a_transient_error_is_counted_by_its_error(error: str) -> None:
    # The first compensation of a crashed step moves the saga on with the caught error's name as reason
    # (lambdas/logic/saga_steps.py `_reason`): a transient error there means the retries ran out.
    assert measures(_moved(SagaState.PENDING_INVENTORY, error), VIEW) == [
        Measure("StepsGaveUp", 1, dimension=("error", error))
    ]


@pytest.mark.parametrize(
    ("from_state", "reason"),
    [
        (SagaState.PENDING_INVENTORY, "line 1: not enough stock"),  # a business refusal: not giving up
        (SagaState.PENDING_PRESCRIPTION, "PharmacyContractError"),  # counted as a contract error instead
        (SagaState.PENDING_SHIPMENT, "States.Timeout"),
        (SagaState.COMPENSATION_FAILED, "resumed by an operator"),
        (SagaState.PENDING_INVENTORY, None),
    ],
)
def test_other_moves_to_compensating_are_not_steps_that_gave_up(from_state: SagaState, reason: str | None) -> None:
    assert measures(_moved(from_state, reason), VIEW) == []


def test_an_overdue_verification_is_counted_once_for_its_alarm() -> None:
    # infra/monitoring.py's VerificationsOverdue alarm reads this metric (issue 25: "a metric and an alarm
    # count overdue verifications").
    overdue = ev.PrescriptionVerificationOverdue(
        order_id="o-1", prescription_id="rx-o-1", deadline_at=AT, reason="no pharmacist's decision"
    )
    assert measures(overdue, VIEW) == [Measure("VerificationsOverdue", 1)]


def test_a_cancelled_saga_is_counted_as_an_outcome_of_its_own() -> None:
    ended = VIEW.model_copy(update={"state": SagaState.CANCELLED, "duration_seconds": 2.5})
    cancelled = ev.OrderFulfillmentSagaStateChanged(
        order_id="o-1", from_state=SagaState.COMPENSATING, to_state=SagaState.CANCELLED, reason="asked"
    )
    assert measures(cancelled, ended) == [Measure("SagasCancelled", 1), Measure("SagaDuration", 2.5, unit="Seconds")]


# --- one measure per outcome: the names the dashboard and alarms read (infra/monitoring.py) -------------


def _ended(state: SagaState, duration: float | None) -> SagaView:
    return VIEW.model_copy(update={"state": state, "duration_seconds": duration})


@pytest.mark.parametrize(
    ("state", "counted"),
    [
        (SagaState.COMPLETED, "SagasCompleted"),
        (SagaState.FAILED, "SagasFailed"),
        (SagaState.COMPENSATION_FAILED, "CompensationFailures"),
    ],
)
def test_each_ending_is_counted_once_with_the_sagas_duration_in_seconds(state: SagaState, counted: str) -> None:
    moved = ev.OrderFulfillmentSagaStateChanged(order_id="o-1", from_state=SagaState.COMPENSATING, to_state=state)
    assert measures(moved, _ended(state, 4.25)) == [Measure(counted, 1), Measure("SagaDuration", 4.25, unit="Seconds")]
    # a row that knows no duration yet (its start came after) is counted, not timed
    assert measures(moved, _ended(state, None)) == [Measure(counted, 1)]


def test_a_started_saga_a_rejected_order_and_a_conflicting_order_are_each_counted_once() -> None:
    started = ev.OrderFulfillmentSagaStarted(order_id="o-1", patient_id="p-1", medications=[])
    kept = {
        "order_id": "o-1",
        "raw_message": "{}",
        "raw_message_bytes": 2,
        "raw_message_sha256": "0" * 64,
        "raw_message_truncated": False,
        "order_sha256": "1" * 64,
    }
    rejected = ev.OrderRejected(**kept, reasons=["patient_id: missing"], reasons_total=1)
    conflict = ev.ConflictingOrderReceived(
        **kept, message_id="m-2", under_state=SagaState.STARTED, differing_fields=["medications"], valid=True
    )
    assert measures(started, VIEW) == [Measure("SagasStarted", 1)]
    assert measures(rejected, VIEW) == [Measure("SagasRejected", 1)]
    assert measures(conflict, VIEW) == [Measure("ConflictingOrders", 1)]


def test_each_compensation_run_is_counted_by_its_name() -> None:
    ran = ev.CompensationRecorded(order_id="o-1", compensation="release_inventory", had_effect=True)
    assert measures(ran, VIEW) == [Measure("CompensationsRun", 1, dimension=("compensation", "release_inventory"))]


@pytest.mark.parametrize(
    "event",
    [
        ev.PrescriptionCreated(order_id="o-1", prescription_id="rx-o-1"),
        ev.OrderFulfillmentSagaStateChanged(
            order_id="o-1", from_state=SagaState.PENDING_PRESCRIPTION, to_state=SagaState.PENDING_INVENTORY
        ),
        ev.OrderFulfillmentSagaCompleted(order_id="o-1"),
    ],
)
def test_a_step_on_the_way_is_no_outcome(event: ev.DomainEvent) -> None:
    assert measures(event, VIEW) == []
