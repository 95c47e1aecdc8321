"""Lambda handler: event-store stream -> EventBridge (the outbox: stored means published)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.handlers.stream import stored_event
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.publish import bus_entry
from lambdas.observability import observed


def _publish_one(record: DynamoDBRecord) -> None:
    stored = stored_event(record)
    if stored is None:
        return
    services = LambdaServices(source="publisher")
    services.publisher.put(bus_entry(stored, services.bus_name))


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_publish_one, processor=processor, context=context)
