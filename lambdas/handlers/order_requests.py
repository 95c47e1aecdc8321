"""Lambda handler: a pharmacist's answers and cancellations from the order bus -> applied to their sagas.

SQS partial-batch failures: a message that names no usable request fails alone, is retried, then
kept in the dead-letter queue; the others go on. Log lines carry the kind, the outcome and the
order id, never the reason or the pharmacist's words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.domain.intake import UnusableMessage
from lambdas.handlers.batch import partial_batch_response
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.requests import Answer, answer, cancel, read_request
from lambdas.observability import logger, metrics, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _take_one(record: SQSRecord) -> None:
    services = LambdaServices(source="order_requests")
    try:
        request = read_request(record.body, record.message_id)
    except UnusableMessage as unusable:
        logger.error("unusable request", extra={"reason": str(unusable), "message_id": record.message_id})
        metrics.add_metric(name="UnusableRequests", unit=MetricUnit.Count, value=1)
        raise
    if isinstance(request, Answer):
        kind = f"pharmacist {request.decision}"
        outcome = answer(services.repository, services.task_tokens, services.waiting_tasks, request)
    else:
        kind = "cancellation"
        outcome = cancel(services.repository, services.starter, services.compensations, request)
    logger.info(
        "request handled",
        extra={
            "correlation_id": request.detail.order_id,
            "request": kind,
            "outcome": outcome.value,
            "message_id": record.message_id,
        },
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return partial_batch_response(event, context, "SQS", _take_one)
