"""Lambda handler: event-store stream -> EventBridge (the outbox: stored means published)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.batch import partial_batch_response
from lambdas.handlers.stream import stored_event
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.publish import bus_entry
from lambdas.observability import observed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _publish_one(record: DynamoDBRecord) -> None:
    stored = stored_event(record)
    if stored is None:
        return
    services = LambdaServices(source="publisher")
    services.publisher.put(bus_entry(stored, services.bus_name))


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return partial_batch_response(event, context, "DynamoDBStreams", _publish_one)
