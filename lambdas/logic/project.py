"""Keeping the saga projection up to date from stored events, and rebuilding it by replay."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView, VersionGap, apply, rebuild
from lambdas.logic.ports import EventStore


class ProjectionStore(Protocol):
    def put(self, view: SagaView, previous_version: int | None) -> None: ...

    def replace(self, view: SagaView) -> None: ...


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
