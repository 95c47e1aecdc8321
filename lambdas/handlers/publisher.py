"""Lambda handler: event-store stream -> EventBridge (the outbox: stored means published).

A batch's events go out ten per PutEvents request; an entry the bus refuses fails its own
record (the stream is retried from it: what was published after it is published again, and
consumers de-duplicate by event id, as with any at-least-once delivery).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.batch import stream_batch_response
from lambdas.handlers.stream import stored_from_raw
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.publish import bus_entry
from lambdas.observability import logger, metrics, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _publish_batch(records: list[dict[str, Any]]) -> dict[str, Exception]:
    """Put the batch's events on the bus, ten per request; the refusals by sequence number."""
    sequence_numbers, entries = [], []
    services = LambdaServices(source="publisher")
    for record in records:
        for stored in stored_from_raw(record):
            sequence_numbers.append(record["dynamodb"]["SequenceNumber"])
            entries.append(bus_entry(stored, services.bus_name))
    refusals = services.publisher.put_many(entries) if entries else []
    failures: dict[str, Exception] = {}
    for number, refusal in zip(sequence_numbers, refusals, strict=True):
        # A record holding several events fails at its first refused one: it is retried whole.
        if refusal is not None:
            failures.setdefault(number, refusal)
    return failures


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return stream_batch_response(event, context, _publish_batch(event.get("Records", [])))
