"""How a stored event is laid out as a DynamoDB item (also what the table's stream carries)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from lambdas.domain.events import EventMetadata, StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


NO_EVENT_AT_KEY = "attribute_not_exists(pk)"
"""The condition that holds while no event is stored at an item's key (its stream and version)."""


def event_key(stream_id: str, version: int) -> Item:
    """The key of the event at `version` of `stream_id`."""
    return {"pk": {"S": stream_id}, "sk": {"N": str(version)}}


def to_item(event: StoredEvent) -> Item:
    return {
        **event_key(event.stream_id, event.version),
        "event_id": {"S": event.event_id},
        "type": {"S": event.type},
        "occurred_at": {"S": event.occurred_at.isoformat()},
        "schema_version": {"N": str(event.schema_version)},
        "payload": {"S": json.dumps(event.payload, separators=(",", ":"))},
        "metadata": {"S": event.metadata.model_dump_json()},
    }


def from_item(item: Item) -> StoredEvent:
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
