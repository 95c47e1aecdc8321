"""Loads a saga from its event stream and appends what it decided, with its version as guard."""

from __future__ import annotations

from lambdas.domain.events import DomainEvent, StoredEvent, new_stored_event
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.logic.ports import EventStore


def stream_id_for(order_id: str) -> str:
    """One stream per saga; the order id is its natural key."""
    return f"saga-{order_id}"


class SagaRepository:
    def __init__(self, store: EventStore, source: str) -> None:
        self._store = store
        self._source = source

    def new(self, order_id: str) -> OrderFulfillmentSaga:
        """The saga as it is before its first event, without reading: its first save fails with
        ConcurrencyConflict if the stream turns out to exist."""
        return OrderFulfillmentSaga.from_history(order_id, ())

    def load(self, order_id: str) -> OrderFulfillmentSaga:
        return self.load_with_causes(order_id, None)[0]

    def load_with_causes(
        self, order_id: str, causation_id: str | None
    ) -> tuple[OrderFulfillmentSaga, list[DomainEvent]]:
        """The saga, and the events of its stream `causation_id` caused (none when it is None): a message
        handled before, retried, finds what it did the first time."""
        history = self._store.read(stream_id_for(order_id))
        saga = OrderFulfillmentSaga.from_history(order_id, (e.to_domain() for e in history))
        caused = [e.to_domain() for e in history if causation_id and e.metadata.causation_id == causation_id]
        return saga, caused

    def save(self, saga: OrderFulfillmentSaga, causation_id: str | None) -> list[StoredEvent]:
        """Append the saga's new events after the version it was loaded at.

        Raises ConcurrencyConflict when another writer got there first; the caller's
        retry reloads the saga and, the commands being idempotent, decides again.
        """
        new_events = saga.take_new_events()
        first_version = saga.version + 1
        stored = []
        for offset, event in enumerate(new_events):
            stored.append(
                new_stored_event(
                    event,
                    stream_id=stream_id_for(saga.order_id),
                    version=first_version + offset,
                    causation_id=causation_id,
                    source=self._source,
                )
            )
        self._store.append(stored)
        saga.version += len(stored)
        return stored
