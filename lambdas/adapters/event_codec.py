"""How a stored event is laid out as a DynamoDB item (also what the table's stream carries)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from lambdas.domain.events import EventMetadata, StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


def to_item(event: StoredEvent) -> Item:
    return {
        "pk": {"S": event.stream_id},
        "sk": {"N": str(event.version)},
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
