"""The saga's rules for a pharmacist's verification and for cancellation (issue 25), on the aggregate alone.

Expected outcomes are the issue's: verified goes on to the inventory; rejected or overdue compensates
the made prescription and ends FAILED with the pharmacist's reason or one naming the deadline; an
answer that cannot decide is kept with why; a cancellation before the shipment undoes exactly the
completed steps (and the one running) and ends CANCELLED; after the shipment it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from lambdas.domain import events as ev
from lambdas.domain.errors import IllegalTransition
from lambdas.domain.order import OrderCreated
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import Compensation, SagaState, Step

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=1440)


def _saga(*, verification: bool = True) -> OrderFulfillmentSaga:
    saga = OrderFulfillmentSaga("o-1")
    saga.start(
        OrderCreated.model_validate({"order_id": "o-1", "patient_id": "p-1", "medications": ["med-1"]}),
        verification_required=verification,
    )
    return saga


def _waiting() -> OrderFulfillmentSaga:
    saga = _saga()
    saga.record_prescription_created("rx-o-1")
    saga.record_verification_requested(DEADLINE)
    return saga


def _replayed(saga: OrderFulfillmentSaga) -> OrderFulfillmentSaga:
    """The same saga folded from the events it decided: what a later invocation loads."""
    return OrderFulfillmentSaga.from_history("o-1", saga.take_new_events())


def _state(saga: OrderFulfillmentSaga) -> SagaState | None:
    """Read afresh (a type checker would keep what an earlier assert narrowed it to)."""
    return saga.state


def _undo_all(saga: OrderFulfillmentSaga) -> list[Compensation]:
    done = []
    while remaining := saga.remaining_compensations:
        saga.record_compensation(remaining[0], had_effect=True, reason=None)
        done.append(remaining[0])
    return done


def test_with_verification_the_made_prescription_waits_for_a_pharmacist() -> None:
    saga = _waiting()
    assert saga.state is SagaState.PENDING_VERIFICATION
    with pytest.raises(IllegalTransition):
        saga.record_inventory_reserved("res-o-1")  # nothing is reserved before a pharmacist verified
    assert _replayed(saga).verification_deadline == DEADLINE


def test_without_verification_the_saga_goes_straight_on_as_before() -> None:
    saga = _saga(verification=False)
    saga.record_prescription_created("rx-o-1")
    assert saga.state is SagaState.PENDING_INVENTORY


def test_verified_goes_on_to_reserve_the_inventory_and_completes() -> None:
    saga = _waiting()
    assert saga.answer_verification("verified", "ph-7", at=NOW)
    assert saga.state is SagaState.PENDING_INVENTORY
    saga.record_inventory_reserved("res-o-1")
    saga.record_shipment_initiated("shp-o-1", "address_on_file")
    assert _replayed(saga).state is SagaState.COMPLETED


def test_rejected_undoes_the_prescription_and_fails_with_the_pharmacists_reason_kept_off_the_bus() -> None:
    saga = _waiting()
    assert saga.answer_verification("rejected", "ph-7", at=NOW, reason="interacts with the patient's warfarin")
    assert saga.state is SagaState.COMPENSATING
    assert _undo_all(saga) == [Compensation.CANCEL_PRESCRIPTION, Compensation.CANCEL_ORDER]
    assert _state(saga) is SagaState.FAILED
    assert saga.failure_reason == "interacts with the patient's warfarin"
    published = [e.public_payload() for e in saga.take_new_events()]
    assert "warfarin" not in str(published)


def test_no_decision_by_the_deadline_undoes_the_prescription_and_says_why() -> None:
    saga = _waiting()
    saga.record_verification_overdue(at=DEADLINE)
    assert _undo_all(saga) == [Compensation.CANCEL_PRESCRIPTION, Compensation.CANCEL_ORDER]
    assert saga.state is SagaState.FAILED
    assert saga.failure_reason is not None
    assert "deadline" in saga.failure_reason
    assert "2026-12-08 09:00 UTC" in saga.failure_reason


@pytest.mark.parametrize(
    ("before", "at", "why"),
    [
        (lambda s: s.answer_verification("verified", "ph-1", at=NOW), NOW, "verified already"),
        (lambda s: s.answer_verification("rejected", "ph-1", at=NOW, reason="no"), NOW, "rejected already"),
        (lambda s: s.record_verification_overdue(at=DEADLINE), DEADLINE, "after the verification deadline"),
        (lambda s: None, DEADLINE + timedelta(seconds=1), "after the verification deadline"),
    ],
)
def test_an_answer_that_cannot_decide_changes_nothing_and_is_kept_with_why(
    before: Callable[[OrderFulfillmentSaga], object], at: datetime, why: str
) -> None:
    saga = _waiting()
    before(saga)
    state = saga.state
    saga.take_new_events()
    assert not saga.answer_verification("verified", "ph-2", at=at)
    assert saga.state is state
    [ignored] = saga.take_new_events()
    assert isinstance(ignored, ev.VerificationAnswerIgnored)
    assert why in ignored.why
    assert ignored.pharmacist_id == "ph-2"


def test_an_answer_for_a_saga_that_does_not_wait_is_kept_with_why() -> None:
    saga = _saga(verification=False)
    assert not saga.answer_verification("rejected", "ph-2", at=NOW, reason="kept privately")
    [ignored] = saga.take_new_events()[-1:]
    assert isinstance(ignored, ev.VerificationAnswerIgnored)
    assert "does not wait" in ignored.why
    assert "reason" not in ignored.public_payload()


def test_a_cancellation_while_waiting_undoes_the_prescription_and_ends_cancelled() -> None:
    saga = _waiting()
    assert saga.request_cancellation("patient changed their mind", requested_by="bus")
    assert _undo_all(saga) == [Compensation.CANCEL_PRESCRIPTION, Compensation.CANCEL_ORDER]
    assert saga.state is SagaState.CANCELLED
    events = saga.take_new_events()
    kinds = [type(e) for e in events]
    assert ev.CancellationRequested in kinds
    assert ev.OrderFulfillmentSagaCancelled in kinds
    assert ev.OrderFulfillmentSagaFailed not in kinds
    assert "changed their mind" not in str([e.public_payload() for e in events]), "the requester's words stay"
    assert OrderFulfillmentSaga.from_history("o-1", events).state is SagaState.CANCELLED


def test_a_cancellation_while_a_step_runs_undoes_that_step_too() -> None:
    # Given a saga whose reservation is running (its state says so, nothing recorded yet)
    saga = _saga(verification=False)
    saga.record_prescription_created("rx-o-1")
    assert saga.state is SagaState.PENDING_INVENTORY
    assert saga.request_cancellation("duplicate order", requested_by="cli", from_outside=False)
    # Then the running step is undone as well (undo-before-do: its late write is refused or undone)
    assert _undo_all(saga) == [
        Compensation.RELEASE_INVENTORY,
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]
    assert _state(saga) is SagaState.CANCELLED
    with pytest.raises(IllegalTransition):
        saga.record_inventory_reserved("res-o-1")  # the running step cannot record itself afterwards


def test_a_cancellation_after_the_shipment_is_refused_and_the_saga_stays_completed() -> None:
    saga = _saga(verification=False)
    saga.record_prescription_created("rx-o-1")
    saga.record_inventory_reserved("res-o-1")
    saga.record_shipment_initiated("shp-o-1", "address_on_file")
    assert not saga.request_cancellation("too late", requested_by="bus")
    assert saga.state is SagaState.COMPLETED
    [refused] = saga.take_new_events()[-1:]
    assert isinstance(refused, ev.CancellationRefused)
    assert "shipment is out" in refused.why


def test_a_second_cancellation_is_harmless() -> None:
    saga = _waiting()
    assert saga.request_cancellation("first", requested_by="bus")
    assert not saga.request_cancellation("second", requested_by="console")
    assert saga.state is SagaState.COMPENSATING
    assert saga.remaining_compensations == [Compensation.CANCEL_PRESCRIPTION, Compensation.CANCEL_ORDER]


def test_a_failing_saga_is_not_turned_into_a_cancelled_one() -> None:
    saga = _saga(verification=False)
    saga.record_prescription_created("rx-o-1")
    saga.record_step_failed(Step.RESERVE_INVENTORY, "line 1: not enough stock")
    assert not saga.request_cancellation("patient asked", requested_by="bus")
    _undo_all(saga)
    assert saga.state is SagaState.FAILED


def test_the_bus_says_a_requesters_reason_is_kept_not_that_a_system_refused() -> None:
    # Found walking the product: a cancellation's reason was published as "refused by the system the step
    # called", which no system did. The words stay private; what the bus says in their place is true of
    # every outside reason (a pharmacy's refusal, a pharmacist's rejection, a requester's cancellation).
    said = "the patient's INR is 4.2"
    requested = ev.CancellationRequested(order_id="o-1", reason=said, reason_from_outside=True, requested_by="bus")
    public = requested.public_payload()
    assert said not in str(public)
    assert "refused" not in public["reason"]
    assert "kept with the saga" in public["reason"]
