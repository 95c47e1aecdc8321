"""Starting a saga from an OrderCreated message (lambdas/logic/start.py): once per order id, against
in-memory ports; a different order under a used order id is recorded, never started."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from lambdas.logic.repository import SagaRepository
from lambdas.logic.start import StartOutcome, UnusableMessage, start_saga
from tests.fakes import HAPPY_PATH_EVENTS, FakeStarter


class _CountingStore(InMemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read(self, stream_id: str) -> list[ev.StoredEvent]:
        self.reads += 1
        return super().read(stream_id)


def _order_body(order_id: str = "o-1", medications: list[Any] | None = None, **extra: Any) -> str:
    detail = {
        "order_id": order_id,
        "patient_id": "p-1",
        "medications": ["med-1"] if medications is None else medications,
        **extra,
    }
    return json.dumps({"detail": detail})


def test_a_new_order_is_recorded_and_started_without_reading_its_stream() -> None:
    store, starter = _CountingStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    assert start_saga(repository, starter, _order_body(), "m-1") is StartOutcome.STARTED
    assert store.reads == 0
    assert starter.started == ["o-1"]
    assert [e.type for e in store.read("saga-o-1")] == HAPPY_PATH_EVENTS[:2]


def test_a_repeat_of_a_started_order_starts_nothing_and_writes_nothing() -> None:
    store, starter = _CountingStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    before = store.read("saga-o-1")
    assert start_saga(repository, starter, _order_body(), "m-2") is StartOutcome.DUPLICATE
    # also when it spells the same lines another way (a bare id is quantity 1)
    same = _order_body(medications=[{"medication_id": "med-1", "quantity": 1}])
    assert start_saga(repository, starter, same, "m-3") is StartOutcome.DUPLICATE
    assert store.read("saga-o-1") == before
    assert starter.started == ["o-1"]


def test_a_saga_recorded_but_never_started_is_started_by_the_repeat() -> None:
    # Given a crash between recording the saga and starting its execution
    store = InMemoryEventStore()
    repository = SagaRepository(store, source="test")

    class Crashing(FakeStarter):
        def start(self, order_id: str, message_id: str) -> bool:
            raise ConnectionError("lost")

    with pytest.raises(ConnectionError):
        start_saga(repository, Crashing(), _order_body(), "m-1")
    # When the message is delivered again, the execution starts, and the saga is not recorded twice
    starter = FakeStarter()
    assert start_saga(repository, starter, _order_body(), "m-1") is StartOutcome.STARTED
    assert starter.started == ["o-1"]
    assert [e.type for e in store.read("saga-o-1")] == HAPPY_PATH_EVENTS[:2]


def test_a_rejected_order_repeated_stays_one_rejection() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    body = _order_body(medications=[])
    assert start_saga(repository, starter, body, "m-1") is StartOutcome.REJECTED
    assert start_saga(repository, starter, body, "m-2") is StartOutcome.DUPLICATE
    assert [e.type for e in store.read("saga-o-1")] == [ev.OrderRejected.TYPE_KEY]
    assert starter.started == []


# --- a different order under a used order id -----------------------------------------------

CONFLICT = ev.ConflictingOrderReceived.TYPE_KEY
CONFLICTS_KEPT = 20
"""docs/orders.md: at most 20 distinct conflicting orders are recorded per saga."""


def test_a_different_order_under_a_started_sagas_id_is_recorded_on_its_stream_and_starts_nothing() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    edited = _order_body(medications=["med-1", "med-2"])
    # When another order arrives under the same id
    assert start_saga(repository, starter, edited, "m-2") is StartOutcome.CONFLICT
    # Then it is on the saga's stream, kept whole, naming the fields that differ, not their values
    stream = store.read("saga-o-1")
    assert [e.type for e in stream] == [*HAPPY_PATH_EVENTS[:2], CONFLICT]
    conflict = stream[-1].to_domain()
    assert isinstance(conflict, ev.ConflictingOrderReceived)
    assert (conflict.message_id, conflict.differing_fields, conflict.valid) == ("m-2", ["medications"], True)
    assert conflict.under_state is SagaState.PENDING_PRESCRIPTION
    assert (conflict.raw_message, conflict.raw_message_truncated) == (edited, False)
    assert stream[-1].metadata.causation_id == "m-2"
    # and the saga goes on with its first order; nothing else started
    saga = repository.load("o-1")
    assert saga.state is SagaState.PENDING_PRESCRIPTION
    assert [line.medication_id for line in saga.medications] == ["med-1"]
    assert starter.started == ["o-1"]


def test_a_conflicting_order_delivered_again_is_recorded_once() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    for message_id in ("m-2", "m-3", "m-4"):
        assert start_saga(repository, starter, _order_body(patient_id="p-2"), message_id) is StartOutcome.CONFLICT
    assert [e.type for e in store.read("saga-o-1")].count(CONFLICT) == 1
    # an invalid one under the same id is another conflict, and says it was invalid
    assert start_saga(repository, starter, _order_body(medications=[]), "m-5") is StartOutcome.CONFLICT
    invalid = store.read("saga-o-1")[-1].to_domain()
    assert isinstance(invalid, ev.ConflictingOrderReceived)
    assert invalid.valid is False


def test_a_corrected_order_under_a_rejected_orders_id_is_a_conflict_and_the_id_stays_rejected() -> None:
    # The rule: an order id names one order; a rejected order's id is spent (send the fix under a new id)
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    assert start_saga(repository, starter, _order_body(medications=[]), "m-1") is StartOutcome.REJECTED
    assert start_saga(repository, starter, _order_body(), "m-2") is StartOutcome.CONFLICT
    stream = store.read("saga-o-1")
    assert [e.type for e in stream] == [ev.OrderRejected.TYPE_KEY, CONFLICT]
    conflict = stream[-1].to_domain()
    assert isinstance(conflict, ev.ConflictingOrderReceived)
    assert (conflict.under_state, conflict.differing_fields) == (SagaState.REJECTED, ["medications"])
    assert repository.load("o-1").state is SagaState.REJECTED
    assert starter.started == []


def test_past_the_cap_of_recorded_conflicts_a_conflicting_order_goes_to_the_dead_letter_queue() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-0")
    for number in range(CONFLICTS_KEPT):
        assert start_saga(repository, starter, _order_body(patient_id=f"other-{number}"), f"m-{number + 1}") is (
            StartOutcome.CONFLICT
        )
    with pytest.raises(UnusableMessage, match="conflicting orders recorded"):
        start_saga(repository, starter, _order_body(patient_id="one-more"), "m-last")
    assert [e.type for e in store.read("saga-o-1")].count(CONFLICT) == CONFLICTS_KEPT


class _RacingStore(InMemoryEventStore):
    """Appends one of the saga's own events just before the conflict's first append."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def append(self, events: Any) -> None:
        if not self.raced and events and events[0].type == CONFLICT:
            self.raced = True
            saga = SagaRepository(self, source="step").load("o-1")
            saga.record_prescription_created("rx-o-1")
            SagaRepository(self, source="step").save(saga, causation_id="step")
        super().append(events)


def test_a_conflict_that_loses_a_race_with_its_saga_is_compared_again_and_recorded() -> None:
    store, starter = _RacingStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    assert start_saga(repository, starter, _order_body(patient_id="p-2"), "m-2") is StartOutcome.CONFLICT
    stream = store.read("saga-o-1")
    types = [e.type for e in stream]
    assert types[-1] == CONFLICT
    assert ev.PrescriptionCreated.TYPE_KEY in types
    assert [e.version for e in stream] == list(range(1, len(stream) + 1))
