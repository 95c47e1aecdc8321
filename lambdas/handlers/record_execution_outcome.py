"""Lambda handler: executions that ended unfinished (FAILED, TIMED_OUT, ABORTED) -> compensate the saga."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.contract import SAGAS_COMPENSATED_AFTER_EXECUTION_ENDED
from lambdas.handlers.batch import partial_batch_response
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.execution_outcome import record_execution_outcome
from lambdas.observability import logger, metrics, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _record_one(record: SQSRecord) -> None:
    services = LambdaServices(source="record_execution_outcome")
    compensations = services.compensations
    outcome = record_execution_outcome(
        services.repository, compensations, record.body, compensation_machine=compensations.state_machine_arn
    )
    logger.append_keys(correlation_id=outcome.order_id)
    logger.info(
        "execution ended",
        extra={"status": outcome.status, "compensating": outcome.compensating, "parked": outcome.parked},
    )
    if outcome.compensating:
        metrics.add_metric(name=SAGAS_COMPENSATED_AFTER_EXECUTION_ENDED, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return partial_batch_response(event, context, "SQS", _record_one)
