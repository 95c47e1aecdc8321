"""A pharmacist's answers and cancellations as use cases (lambdas/logic/requests.py): what each request
does to the saga's stream and what it asks of Step Functions, on in-memory ports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.intake import UnusableMessage
from lambdas.domain.order import OrderCreated
from lambdas.domain.states import SagaState
from lambdas.logic.repository import SagaRepository, stream_id_for
from lambdas.logic.requests import (
    REJECTED_CAUSE,
    Answer,
    Applied,
    Cancellation,
    answer,
    cancel,
    read_request,
    wait_for_pharmacist,
)
from tests.fakes import FakeSagaExecutions, FakeTaskTokens, FakeWaitingTasks

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=24)


@pytest.fixture
def repository() -> SagaRepository:
    return SagaRepository(InMemoryEventStore(), source="test")


def _order(order_id: str) -> OrderCreated:
    return OrderCreated.model_validate(
        {"order_id": order_id, "patient_id": "p-1", "medications": [{"medication_id": "med-1", "quantity": 1}]}
    )


def _waiting(repository: SagaRepository, order_id: str = "o-1", *, requested: bool = True) -> None:
    saga = repository.load(order_id)
    saga.start(_order(order_id), verification_required=True)
    saga.record_prescription_created(f"rx-{order_id}")
    if requested:
        saga.record_verification_requested(DEADLINE)
    repository.save(saga, "test")


def _events(repository: SagaRepository, order_id: str = "o-1") -> list[ev.DomainEvent]:
    return [stored.to_domain() for stored in repository._store.read(stream_id_for(order_id))]


def _answer(decision: str, order_id: str = "o-1", reason: str | None = None, message: str = "m-1") -> Answer:
    body = {
        "source": "pharmacy.prescriptions",
        "detail-type": {"verified": "PrescriptionVerified", "rejected": "PrescriptionRejected"}[decision],
        "detail": {"order_id": order_id, "pharmacist_id": "ph-1", **({"reason": reason} if reason else {})},
    }
    request = read_request(json.dumps(body), message)
    assert isinstance(request, Answer)
    return request


def _cancellation(order_id: str = "o-1", reason: str = "the patient asked", message: str = "c-1") -> Cancellation:
    body = {
        "source": "pharmacy.orders",
        "detail-type": "OrderCancellationRequested",
        "detail": {"order_id": order_id, "reason": reason},
    }
    request = read_request(json.dumps(body), message)
    assert isinstance(request, Cancellation)
    return request


# --- reading requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("not json", "not JSON"),
        ("[]", "not an EventBridge event"),
        (json.dumps({"source": "pharmacy.orders", "detail-type": "OrderCreated", "detail": {}}), "neither"),
        (
            json.dumps({"source": "pharmacy.prescriptions", "detail-type": "PrescriptionVerified", "detail": {}}),
            "order_id",
        ),
        (
            json.dumps(
                {
                    "source": "pharmacy.orders",
                    "detail-type": "OrderCancellationRequested",
                    "detail": {"order_id": "o-1", "reason": "  "},
                }
            ),
            "reason",
        ),
    ],
)
def test_a_message_holding_no_usable_request_is_refused_with_the_field_it_lacks(body: str, named: str) -> None:
    with pytest.raises(UnusableMessage, match=named):
        read_request(body, "m-1")


def test_a_refusal_names_fields_never_their_values() -> None:
    secret = "Warfarin 5mg for Jane Doe"
    body = {
        "source": "pharmacy.prescriptions",
        "detail-type": "PrescriptionRejected",
        "detail": {"order_id": secret, "pharmacist_id": secret, "reason": secret * 200},
    }
    with pytest.raises(UnusableMessage) as refused:
        read_request(json.dumps(body), "m-1")
    assert secret not in str(refused.value)


# --- answers -------------------------------------------------------------------------------------


def test_a_verification_is_recorded_then_passed_on_to_the_waiting_task(repository: SagaRepository) -> None:
    _waiting(repository)
    tokens, tasks = FakeTaskTokens({"o-1": "token-1"}), FakeWaitingTasks({"token-1"})
    assert answer(repository, tokens, tasks, _answer("verified"), at=NOW) is Applied.APPLIED
    assert repository.load("o-1").state is SagaState.PENDING_INVENTORY
    assert tasks.sent == [("token-1", "success", {"decision": "verified"})]


def test_a_rejection_fails_the_task_without_the_pharmacists_words(repository: SagaRepository) -> None:
    _waiting(repository)
    tokens, tasks = FakeTaskTokens({"o-1": "token-1"}), FakeWaitingTasks({"token-1"})
    words = "Jane's INR is too high"
    assert answer(repository, tokens, tasks, _answer("rejected", reason=words), at=NOW) is Applied.APPLIED
    assert tasks.sent == [("token-1", "failure", ("PharmacistRejected", REJECTED_CAUSE))]
    assert words not in REJECTED_CAUSE
    saga = repository.load("o-1")
    assert (saga.state, saga.failure_reason, saga.failure_reason_from_outside) == (
        SagaState.COMPENSATING,
        words,
        True,
    )


def test_a_retried_answer_passes_the_decision_on_again_and_records_nothing_twice(
    repository: SagaRepository,
) -> None:
    # Given an answer recorded whose SendTaskSuccess failed (throttled): SQS delivers the message again
    _waiting(repository)
    tokens, tasks = FakeTaskTokens({"o-1": "token-1"}), FakeWaitingTasks({"token-1"}, fail_next=True)
    with pytest.raises(RuntimeError):
        answer(repository, tokens, tasks, _answer("verified"), at=NOW)
    recorded = len(_events(repository))
    # Then the retry finds what the message did, records nothing more (the chaos run once found it recorded
    # as an ignored second answer), and still passes the decision on
    assert answer(repository, tokens, tasks, _answer("verified"), at=NOW) is Applied.APPLIED
    assert len(_events(repository)) == recorded
    assert tasks.sent == [("token-1", "success", {"decision": "verified"})]


def test_a_second_answer_changes_nothing_and_the_task_is_answered_once(repository: SagaRepository) -> None:
    _waiting(repository)
    tokens, tasks = FakeTaskTokens({"o-1": "token-1"}), FakeWaitingTasks({"token-1"})
    answer(repository, tokens, tasks, _answer("verified"), at=NOW)
    assert answer(repository, tokens, tasks, _answer("rejected", reason="no", message="m-2"), at=NOW) is Applied.KEPT
    assert [kind for _, kind, _ in tasks.sent] == ["success"]
    ignored = [e for e in _events(repository) if isinstance(e, ev.VerificationAnswerIgnored)]
    assert [(e.decision, e.why) for e in ignored] == [("rejected", "the prescription was verified already")]


def test_an_answer_after_the_deadline_is_kept_with_why(repository: SagaRepository) -> None:
    _waiting(repository)
    tokens, tasks = FakeTaskTokens({"o-1": "token-1"}), FakeWaitingTasks({"token-1"})
    late = DEADLINE + timedelta(seconds=1)
    assert answer(repository, tokens, tasks, _answer("verified"), at=late) is Applied.KEPT
    assert tasks.sent == []
    assert repository.load("o-1").state is SagaState.PENDING_VERIFICATION


def test_an_answer_for_an_unknown_order_is_kept_and_asks_nothing_of_step_functions(
    repository: SagaRepository,
) -> None:
    tasks = FakeWaitingTasks()
    assert answer(repository, FakeTaskTokens(), tasks, _answer("verified", order_id="nobody"), at=NOW) is Applied.KEPT
    assert repository.load("nobody").state is SagaState.ORDER_NOT_RECEIVED
    [ignored] = _events(repository, "nobody")
    assert isinstance(ignored, ev.VerificationAnswerIgnored)
    assert ignored.why == "no order was received under this id"
    assert tasks.sent == []


def test_on_a_stack_without_verification_an_answer_is_kept(repository: SagaRepository) -> None:
    saga = repository.load("o-1")
    saga.start(_order("o-1"))
    repository.save(saga, "test")
    assert answer(repository, None, FakeWaitingTasks(), _answer("verified"), at=NOW) is Applied.KEPT
    ignored = [e for e in _events(repository) if isinstance(e, ev.VerificationAnswerIgnored)]
    assert [e.why for e in ignored] == ["this saga does not wait for a pharmacist"]


# --- the waiting task's function -------------------------------------------------------------------


def test_the_waiting_task_keeps_its_token_and_records_the_deadline(repository: SagaRepository) -> None:
    _waiting(repository, requested=False)
    tokens, tasks = FakeTaskTokens(), FakeWaitingTasks({"token-1"})
    wait_for_pharmacist(repository, tokens, tasks, "o-1", "token-1", DEADLINE, "exec")
    assert tokens.kept == {"o-1": "token-1"}
    assert repository.load("o-1").verification_deadline == DEADLINE
    assert tasks.sent == []


def test_a_decision_recorded_before_the_task_began_is_passed_on_by_the_task(repository: SagaRepository) -> None:
    # Given an answer that came in the instant between Create Prescription and Verify Prescription
    _waiting(repository, requested=False)
    tokens, tasks = FakeTaskTokens(), FakeWaitingTasks({"token-1"})
    answer(repository, tokens, tasks, _answer("verified"), at=NOW)
    assert tasks.sent == []  # no token yet
    # Then the waiting task's function answers itself
    wait_for_pharmacist(repository, tokens, tasks, "o-1", "token-1", DEADLINE, "exec")
    assert tasks.sent == [("token-1", "success", {"decision": "verified"})]


# --- cancellations -------------------------------------------------------------------------------


def test_a_cancellation_is_recorded_then_the_execution_stopped(repository: SagaRepository) -> None:
    _waiting(repository)
    executions = FakeSagaExecutions(running={"o-1"})
    assert cancel(repository, executions, executions, _cancellation()) is Applied.APPLIED
    assert executions.stopped == ["o-1"]
    assert executions.compensating == []
    assert repository.load("o-1").state is SagaState.COMPENSATING


def test_a_cancelled_saga_with_no_execution_yet_has_its_compensations_started(repository: SagaRepository) -> None:
    _waiting(repository)
    executions = FakeSagaExecutions(running=set())
    assert cancel(repository, executions, executions, _cancellation()) is Applied.APPLIED
    assert executions.compensating == ["o-1"]


def test_a_retried_cancellation_stops_the_execution_again_and_records_nothing_twice(
    repository: SagaRepository,
) -> None:
    _waiting(repository)
    executions = FakeSagaExecutions(running={"o-1"})
    cancel(repository, executions, executions, _cancellation())
    recorded = len(_events(repository))
    assert cancel(repository, executions, executions, _cancellation()) is Applied.APPLIED
    assert executions.stopped == ["o-1", "o-1"]
    assert len(_events(repository)) == recorded


def test_a_second_cancellation_is_recorded_as_refused_and_still_stops(repository: SagaRepository) -> None:
    _waiting(repository)
    executions = FakeSagaExecutions(running={"o-1"})
    cancel(repository, executions, executions, _cancellation())
    assert cancel(repository, executions, executions, _cancellation(message="c-2")) is Applied.KEPT
    refused = [e for e in _events(repository) if isinstance(e, ev.CancellationRefused)]
    assert [e.why for e in refused] == ["a cancellation was accepted already"]


def test_a_cancellation_before_the_order_is_kept_and_stops_nothing(repository: SagaRepository) -> None:
    executions = FakeSagaExecutions()
    assert cancel(repository, executions, executions, _cancellation(order_id="early")) is Applied.KEPT
    assert repository.load("early").state is SagaState.ORDER_NOT_RECEIVED
    assert (executions.stopped, executions.compensating) == ([], [])


def test_a_cancellation_after_completion_is_refused_and_stops_nothing(repository: SagaRepository) -> None:
    saga = repository.load("o-1")
    saga.start(_order("o-1"))
    saga.record_prescription_created("rx-o-1")
    saga.record_inventory_reserved("res-o-1")
    saga.record_shipment_initiated("shp-o-1", "US")
    repository.save(saga, "test")
    executions = FakeSagaExecutions(running={"o-1"})
    assert cancel(repository, executions, executions, _cancellation()) is Applied.KEPT
    assert executions.stopped == []
    assert repository.load("o-1").state is SagaState.COMPLETED


class RacedOnce(SagaRepository):
    """The saga's own function appends (a pharmacist's verification) just before the request's first save."""

    raced = False

    def save(self, saga: Any, causation_id: str | None) -> Any:
        if not self.raced:
            self.raced = True
            other = self.load(saga.order_id)
            other.answer_verification("verified", "ph-2", NOW)
            super().save(other, "m-other")
        return super().save(saga, causation_id)


def test_a_request_racing_the_saga_is_decided_again_on_what_the_saga_became() -> None:
    repository = RacedOnce(InMemoryEventStore(), source="test")
    repository.raced = True  # not while the saga is made
    _waiting(repository)
    repository.raced = False
    executions = FakeSagaExecutions(running={"o-1"})
    assert cancel(repository, executions, executions, _cancellation()) is Applied.APPLIED
    saga = repository.load("o-1")
    assert (saga.verification_decision, saga.cancellation is not None) == ("verified", True)
    assert executions.stopped == ["o-1"]
