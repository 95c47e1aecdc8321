"""Keeping the saga projection up to date from stored events, and rebuilding it by replay."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView, VersionGap, apply, rebuild
from lambdas.logic.ports import EventStore


class ProjectionStore(Protocol):
    def get(self, order_id: str) -> SagaView | None: ...

    def put(self, view: SagaView, previous_version: int | None) -> None: ...

    def replace(self, view: SagaView) -> None: ...


@dataclass(frozen=True)
class Projected:
    view: SagaView | None
    applied: bool
    """False when the event was a repeat (already applied): nothing changed."""


def project(store: ProjectionStore, events: EventStore, stored: StoredEvent) -> Projected:
    """Apply one stored event; a repeat changes nothing, a gap rebuilds the row from its stream."""
    order_id = stored.metadata.correlation_id
    current = store.get(order_id)
    try:
        updated = apply(current, stored)
    except VersionGap:
        rebuilt = rebuild(events.read(stored.stream_id))
        if rebuilt is not None:
            store.replace(rebuilt)
        return Projected(rebuilt, applied=True)
    if updated is None or updated is current:
        return Projected(updated, applied=False)
    store.put(updated, previous_version=current.version if current else None)
    return Projected(updated, applied=True)


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
