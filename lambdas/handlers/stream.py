"""Decoding event-store stream records: only INSERTs are events (the store is append-only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambdas.adapters.event_codec import from_item
from lambdas.domain.events import StoredEvent
from lambdas.logic.project import StreamRecord


def stored_from_raw(record: dict[str, Any]) -> StoredEvent | None:
    """The event a stream record (as Lambda delivers it) inserted; None for any other change."""
    if record.get("eventName") != "INSERT":
        return None
    image: dict[str, Any] = record["dynamodb"]["NewImage"]
    return from_item(image)


def inserted(records: Iterable[dict[str, Any]]) -> list[StreamRecord]:
    """The batch's events, in batch order, each with its record's sequence number; other changes left out."""
    found = []
    for record in records:
        stored = stored_from_raw(record)
        if stored is not None:
            found.append(StreamRecord(record["dynamodb"]["SequenceNumber"], stored))
    return found
