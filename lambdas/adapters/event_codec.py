"""How stored events are laid out as DynamoDB items (also what the table's stream carries).

One item per append: the append's first event in its own attributes, keyed by its stream and
version, and the events appended with it, in order, in `following` (a JSON list of what sets each
apart: the stream is the first's, each version the one before plus one, the metadata the first's
unless its own is given). An item without `following` holds one event: every item written before
appends were one item each reads as it always did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lambdas.domain.events import EventMetadata, StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]

FOLLOWING = "following"

NO_EVENT_AT_KEY = "attribute_not_exists(pk)"
"""The condition that holds while no event is stored at an item's key (its stream and version)."""


def event_key(stream_id: str, version: int) -> Item:
    """The key of the item an append starting at `version` of `stream_id` claims (its first event's)."""
    return {"pk": {"S": stream_id}, "sk": {"N": str(version)}}


def to_item(event: StoredEvent) -> Item:
    return {
        **event_key(event.stream_id, event.version),
        "event_id": {"S": event.event_id},
        "type": {"S": event.type},
        "occurred_at": {"S": event.occurred_at.isoformat()},
        "schema_version": {"N": str(event.schema_version)},
        "payload": {"S": _json(event.payload)},
        "metadata": {"S": event.metadata.model_dump_json()},
    }


def append_item(events: Sequence[StoredEvent]) -> Item:
    """One item for an append of consecutive events of one stream, keyed by the first's version."""
    first, rest = events[0], events[1:]
    for previous, event in zip(events, rest, strict=False):
        if event.stream_id != first.stream_id or event.version != previous.version + 1:
            raise ValueError(f"stream {first.stream_id}: an append holds consecutive versions of one stream")
    item = to_item(first)
    if rest:
        item[FOLLOWING] = {"S": _json([_following(event, first.metadata) for event in rest])}
    return item


def _following(event: StoredEvent, metadata: EventMetadata) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "schema_version": event.schema_version,
        "payload": event.payload,
    }
    if event.metadata != metadata:
        entry["metadata"] = event.metadata.model_dump(mode="json")
    return entry


def from_item(item: Item) -> StoredEvent:
    """The item's first event (its only one, unless it holds `following`)."""
    return StoredEvent(
        event_id=item["event_id"]["S"],
        type=item["type"]["S"],
        stream_id=item["pk"]["S"],
        version=int(item["sk"]["N"]),
        occurred_at=datetime.fromisoformat(item["occurred_at"]["S"]),
        schema_version=int(item["schema_version"]["N"]),
        payload=json.loads(item["payload"]["S"]),
        metadata=EventMetadata.model_validate_json(item["metadata"]["S"]),
    )


def events_from_item(item: Item) -> list[StoredEvent]:
    """Every event the item holds, in version order."""
    first = from_item(item)
    events = [first]
    if FOLLOWING in item:
        for offset, entry in enumerate(json.loads(item[FOLLOWING]["S"]), start=1):
            metadata = entry.get("metadata")
            events.append(
                StoredEvent(
                    event_id=entry["event_id"],
                    type=entry["type"],
                    stream_id=first.stream_id,
                    version=first.version + offset,
                    occurred_at=datetime.fromisoformat(entry["occurred_at"]),
                    schema_version=int(entry["schema_version"]),
                    payload=entry["payload"],
                    metadata=first.metadata if metadata is None else EventMetadata.model_validate(metadata),
                )
            )
    return events


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
