"""Every legal and illegal saga state transition."""

from __future__ import annotations

import itertools

import pytest

from lambdas.domain.errors import IllegalTransition
from lambdas.domain.intake import receive
from lambdas.domain.order import OrderCreated
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import LEGAL_TRANSITIONS, SagaState, Step, is_legal

S = SagaState
EXPECTED_LEGAL = {
    (None, S.STARTED),
    (None, S.REJECTED),
    # Issue 25: a cancellation (or an answer) that came before its order keeps the stream; the order,
    # when it comes, is started or rejected as any order is.
    (S.ORDER_NOT_RECEIVED, S.STARTED),
    (S.ORDER_NOT_RECEIVED, S.REJECTED),
    (S.STARTED, S.PENDING_PRESCRIPTION),
    (S.STARTED, S.COMPENSATING),
    (S.PENDING_PRESCRIPTION, S.PENDING_INVENTORY),
    (S.PENDING_PRESCRIPTION, S.COMPENSATING),
    # Issue 25: a pharmacist verifies the made prescription (verified: on to the inventory; rejected or
    # overdue: compensate); a cancellation before the shipment is compensated and ends CANCELLED.
    (S.PENDING_PRESCRIPTION, S.PENDING_VERIFICATION),
    (S.PENDING_VERIFICATION, S.PENDING_INVENTORY),
    (S.PENDING_VERIFICATION, S.COMPENSATING),
    (S.COMPENSATING, S.CANCELLED),
    (S.PENDING_INVENTORY, S.PENDING_SHIPMENT),
    (S.PENDING_INVENTORY, S.COMPENSATING),
    (S.PENDING_SHIPMENT, S.COMPLETED),
    (S.PENDING_SHIPMENT, S.COMPENSATING),
    (S.COMPENSATING, S.FAILED),
    (S.COMPENSATING, S.COMPENSATION_FAILED),
    (S.COMPENSATION_FAILED, S.COMPENSATING),
}
ALL_PAIRS = list(itertools.product([None, *SagaState], list(SagaState)))


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS)
def test_transition_is_legal_exactly_when_the_saga_rules_allow_it(source: SagaState | None, target: SagaState) -> None:
    assert is_legal(source, target) == ((source, target) in EXPECTED_LEGAL)


def test_every_state_has_a_transition_entry() -> None:
    assert set(LEGAL_TRANSITIONS) == {None, *SagaState}


def test_terminal_states_have_no_way_out() -> None:
    for state in (S.COMPLETED, S.FAILED, S.REJECTED):
        assert not LEGAL_TRANSITIONS[state]


def _started(order_id: str = "o-1") -> OrderFulfillmentSaga:
    saga = OrderFulfillmentSaga(order_id=order_id)
    saga.start(OrderCreated.model_validate({"order_id": order_id, "patient_id": "p", "medications": ["m"]}))
    saga.take_new_events()
    return saga


def test_a_step_cannot_run_out_of_order() -> None:
    # Given a saga waiting for its prescription
    saga = _started()
    # When inventory is recorded as reserved first, Then the aggregate refuses
    with pytest.raises(IllegalTransition):
        saga.record_inventory_reserved("res-o-1")


def test_a_completed_saga_cannot_be_compensated() -> None:
    saga = _started()
    saga.record_prescription_created("rx")
    saga.record_inventory_reserved("res")
    saga.record_shipment_initiated("shp", "address_on_file")
    assert saga.state is S.COMPLETED
    from lambdas.domain.states import Compensation

    with pytest.raises(IllegalTransition):
        saga.record_compensation(Compensation.CANCEL_ORDER, had_effect=True, reason="late")


def test_only_a_parked_saga_can_be_resumed() -> None:
    saga = _started()
    with pytest.raises(IllegalTransition):
        saga.record_resumed("o-1-resume-1")


def test_a_rejected_order_cannot_start_a_step() -> None:
    saga = OrderFulfillmentSaga(order_id="bad")
    saga.reject(receive('{"detail": {"order_id": "bad"}}', "m-1"))
    with pytest.raises(IllegalTransition):
        saga.record_step_failed(Step.CREATE_PRESCRIPTION, "x")


def test_an_undo_whose_first_answer_was_lost_is_still_announced() -> None:
    # Given a saga that announced its prescription and reservation, then was refused at shipment
    from lambdas.domain import events as ev
    from lambdas.domain.states import Compensation

    saga = _started()
    saga.record_prescription_created("rx-o-1")
    saga.record_inventory_reserved("res-o-1")
    saga.record_step_failed(Step.INITIATE_SHIPMENT, "shipping address: country is not serviced")
    saga.take_new_events()
    # When each undo's retry finds the work done by its first attempt, whose answer was lost
    saga.record_compensation(Compensation.RELEASE_INVENTORY, had_effect=False, reason=None)
    saga.record_compensation(Compensation.CANCEL_PRESCRIPTION, had_effect=False, reason=None)
    # Then subscribers told of each record hear it undone (the chaos run over HTTP found them silent)
    announced = [type(e) for e in saga.take_new_events()]
    assert ev.InventoryReleased in announced
    assert ev.PrescriptionCancelled in announced
