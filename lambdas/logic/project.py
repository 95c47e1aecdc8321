"""Keeping the saga projection up to date from stored events, and rebuilding it by replay.

The projector applies a stream batch with `project_batch`: saga by saga, the rows of all the
batch's sagas read together, each saga's row written once however many of its events the
batch holds, and each failure reported against the records it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView, VersionGap, apply, rebuild
from lambdas.logic.ports import EventStore, ProjectionRows, ProjectionStore


@dataclass(frozen=True)
class Projected:
    view: SagaView | None
    applied: bool
    """False when the event was a repeat (already applied): nothing changed."""


def project_many(
    store: ProjectionStore, events: EventStore, stream: Sequence[StoredEvent], current: SagaView | None
) -> list[Projected]:
    """Apply several events of one saga, in stream order, to its row as read (`current`, None
    when it has none yet): one conditional write.

    One `Projected` per event, each with the view just after it. A repeat changes nothing; a
    gap rebuilds the row from the event store, which holds the rest of `stream` as well.
    """
    if not stream:
        return []
    view = current
    outcomes: list[Projected] = []
    for stored in stream:
        try:
            updated = apply(view, stored)
        except VersionGap:
            rebuilt = rebuild(events.read(stored.stream_id))
            if rebuilt is not None:
                store.replace(rebuilt)
            later = len(stream) - len(outcomes) - 1
            return [*outcomes, Projected(rebuilt, applied=True), *[Projected(rebuilt, applied=False)] * later]
        outcomes.append(Projected(updated, applied=updated is not None and updated is not view))
        view = updated
    if view is not None and view is not current:
        store.put(view, previous_version=current.version if current else None)
    return outcomes


@dataclass(frozen=True)
class StreamRecord:
    """A record of a stream batch that inserted an event: its sequence number (what a partial
    batch response names it by, `itemIdentifier`) and the event."""

    sequence_number: str
    event: StoredEvent


@dataclass(frozen=True)
class Applied:
    event: StoredEvent
    view: SagaView
    """The saga's view just after the event."""


@dataclass(frozen=True)
class BatchProjected:
    failures: dict[str, Exception]
    """Why each record that failed did, by sequence number: the batch item failures."""
    applied: list[Applied]
    """The events applied for the first time, in batch order saga by saga: the metrics' events."""


def project_batch(store: ProjectionRows, events: EventStore, records: Iterable[StreamRecord]) -> BatchProjected:
    """Project a stream batch saga by saga: the rows read together, one write per saga.

    A saga whose projection fails fails all its records of the batch; the stream is then
    retried from the first of them, and what was applied meanwhile repeats as a no-op. If the
    rows cannot be read, every record fails.
    """
    streams: dict[str, list[StreamRecord]] = {}
    for record in records:
        streams.setdefault(record.event.stream_id, []).append(record)
    order_ids = {stream_id: stream[0].event.metadata.correlation_id for stream_id, stream in streams.items()}
    try:
        rows = store.get_each(order_ids.values())
    except Exception as error:  # reported against every record: the stream retries the batch
        return BatchProjected({r.sequence_number: error for stream in streams.values() for r in stream}, [])
    failures: dict[str, Exception] = {}
    applied: list[Applied] = []
    for stream_id, stream in streams.items():
        try:
            row = rows.get(order_ids[stream_id])
            outcomes = project_many(store, events, [r.event for r in stream], current=row() if row else None)
        except Exception as error:  # reported against each of the saga's records
            failures.update((r.sequence_number, error) for r in stream)
            continue
        applied += [
            Applied(r.event, outcome.view)
            for r, outcome in zip(stream, outcomes, strict=True)
            if outcome.applied and outcome.view is not None
        ]
    return BatchProjected(failures, applied)


def replay(history: Iterable[StoredEvent]) -> dict[str, SagaView]:
    """Every saga's view, rebuilt from the full event history (streams in version order)."""
    streams: dict[str, list[StoredEvent]] = {}
    for stored in history:
        streams.setdefault(stored.stream_id, []).append(stored)
    views = {}
    for stream in streams.values():
        view = rebuild(stream)
        if view is not None:
            views[view.order_id] = view
    return views
