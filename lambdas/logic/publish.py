"""What a stored event looks like on the bus: the envelope with the public payload only."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lambdas.contract import DOMAIN_EVENT_SOURCE
from lambdas.domain.events import StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef


def bus_entry(stored: StoredEvent, bus_name: str) -> PutEventsRequestEntryTypeDef:
    """A PutEvents entry: DetailType is the type key, Detail carries ids and outcomes only.
    An event stored in an older shape is published upcast, with the schema version of the shape it has."""
    event = stored.to_domain()
    detail = {
        "event_id": stored.event_id,
        "type": stored.type,
        "stream_id": stored.stream_id,
        "version": stored.version,
        "occurred_at": stored.occurred_at.isoformat(),
        "schema_version": event.SCHEMA_VERSION,
        "payload": event.public_payload(),
        "metadata": stored.metadata.model_dump(mode="json"),
    }
    return {
        "Source": DOMAIN_EVENT_SOURCE,
        "DetailType": stored.type,
        "Detail": json.dumps(detail, separators=(",", ":")),
        "EventBusName": bus_name,
    }
