"""Lambda handler: OrderCreated messages from the start queue -> one saga per order id.

SQS partial-batch failures: a message we cannot use fails alone, is retried, and then lands
in the dead-letter queue; the other messages of the batch go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.handlers.batch import partial_batch_response
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.start import StartOutcome, UnusableMessage, receive, start_delivery
from lambdas.observability import logger, metrics, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

_METRIC = {
    StartOutcome.STARTED: "OrdersAccepted",
    StartOutcome.DUPLICATE: "DuplicateOrders",
    StartOutcome.REJECTED: "OrdersRejected",
    StartOutcome.CONFLICT: "ConflictingOrderDeliveries",
    StartOutcome.CANCELLED: "OrdersCancelledBeforeTheyCame",
}


def _start_one(record: SQSRecord) -> StartOutcome:
    services = LambdaServices(source="start_saga")
    delivery = None
    try:
        delivery = receive(record.body, record.message_id)
        outcome = start_delivery(
            services.repository, services.starter, delivery, verification_required=services.verification_required
        )
    except UnusableMessage as unusable:
        # The body may hold patient data: log the reason, the message id and the order id (a
        # checked id, once the message named a usable one) only.
        known = {"correlation_id": delivery.order_id} if delivery else {}
        logger.error(
            "unusable order message", extra={"reason": str(unusable), "message_id": record.message_id, **known}
        )
        metrics.add_metric(name="UnusableOrderMessages", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=_METRIC[outcome], unit=MetricUnit.Count, value=1)
    # The order id as correlation_id, as every function's lines about an order carry it (per
    # line, not appended: the next record of the batch is another order, or none).
    logger.info(
        "order handled",
        extra={"correlation_id": delivery.order_id, "outcome": outcome.value, "message_id": record.message_id},
    )
    return outcome


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return partial_batch_response(event, context, "SQS", _start_one)
