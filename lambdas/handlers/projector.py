"""Lambda handler: event-store stream -> saga projection, idempotent by event version."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.handlers.stream import stored_event
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.project import project
from lambdas.observability import logger, metrics, tracer


def _project_one(record: DynamoDBRecord) -> None:
    stored = stored_event(record)
    if stored is None:
        return
    services = LambdaServices(source="projector")
    project(services.projection, services.event_store, stored)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_project_one, processor=processor, context=context)
