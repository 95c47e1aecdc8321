"""Partial-batch responses for the SQS and stream handlers, with Powertools' Batch utility.

The utility is imported on the first batch, not when the handler module is imported: it
brings asyncio and the event data classes, a cold start's cost a function that never gets a
batch should not pay (docs/bench.md, imports). A record that raises fails alone; the others of the batch go on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

Source = Literal["SQS", "DynamoDBStreams"]


def partial_batch_response(
    event: dict[str, Any], context: LambdaContext, source: Source, record_handler: Callable[[Any], Any]
) -> PartialItemFailureResponse:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType[source])
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def stream_batch_response(
    event: dict[str, Any], context: LambdaContext, failures: dict[str, Exception]
) -> PartialItemFailureResponse:
    """The response for a stream batch already handled as a whole: `failures` by sequence number."""

    def report(record: Any) -> None:
        failure = failures.get(str(record.dynamodb.sequence_number if record.dynamodb else ""))
        if failure is not None:
            raise failure

    return partial_batch_response(event, context, "DynamoDBStreams", report)
