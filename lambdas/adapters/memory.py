"""In-memory adapters: the event store contract without AWS, for unit tests and replay checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.events import StoredEvent


class InMemoryEventStore:
    def __init__(self) -> None:
        self._streams: dict[str, dict[int, StoredEvent]] = {}
        self._lock = threading.Lock()

    def append(self, events: Sequence[StoredEvent]) -> None:
        with self._lock:
            for event in events:
                if event.version in self._streams.get(event.stream_id, {}):
                    raise ConcurrencyConflict(
                        f"stream {event.stream_id}: version {event.version} was appended by another writer"
                    )
            for event in events:
                self._streams.setdefault(event.stream_id, {})[event.version] = event

    def read(self, stream_id: str) -> list[StoredEvent]:
        with self._lock:
            stream = self._streams.get(stream_id, {})
            return [stream[v] for v in sorted(stream)]

    def iter_all(self) -> Iterator[StoredEvent]:
        with self._lock:
            snapshot = {sid: dict(stream) for sid, stream in self._streams.items()}
        for stream in snapshot.values():
            yield from (stream[v] for v in sorted(stream))
