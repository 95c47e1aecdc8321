"""Decoding event-store stream records: only INSERTs are events (the store is append-only), each
record one append, holding one event or several (event_codec)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambdas.adapters.event_codec import events_from_item
from lambdas.domain.events import StoredEvent
from lambdas.logic.project import StreamRecord


def stored_from_raw(record: dict[str, Any]) -> list[StoredEvent]:
    """The events a stream record (as Lambda delivers it) inserted, in order; none for any other change."""
    if record.get("eventName") != "INSERT":
        return []
    image: dict[str, Any] = record["dynamodb"]["NewImage"]
    return events_from_item(image)


def inserted(records: Iterable[dict[str, Any]]) -> list[StreamRecord]:
    """The batch's events, in batch order, each with its record's sequence number; other changes left out."""
    return [
        StreamRecord(record["dynamodb"]["SequenceNumber"], stored)
        for record in records
        for stored in stored_from_raw(record)
    ]
