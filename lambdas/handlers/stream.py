"""Decoding event-store stream records: only INSERTs are events (the store is append-only)."""

from __future__ import annotations

from typing import Any

from lambdas.adapters.event_codec import from_item
from lambdas.domain.events import StoredEvent


def stored_from_raw(record: dict[str, Any]) -> StoredEvent | None:
    """The event a stream record (as Lambda delivers it) inserted; None for any other change."""
    if record.get("eventName") != "INSERT":
        return None
    image: dict[str, Any] = record["dynamodb"]["NewImage"]
    return from_item(image)
