"""Lambda handler: executions that ended unfinished (FAILED, TIMED_OUT, ABORTED) -> compensate the saga."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas import config
from lambdas.adapters.aws_services import client
from lambdas.handlers.batch import partial_batch_response
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.execution_outcome import compensation_execution_name, record_execution_outcome
from lambdas.observability import logger, metrics, observed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


class CompensationExecutions:
    """Starts the compensation state machine for an order, once (named after the order)."""

    def start(self, order_id: str) -> bool:
        sfn = client("stepfunctions")
        try:
            sfn.start_execution(
                stateMachineArn=config.setting(config.RESUME_STATE_MACHINE_ARN),
                name=compensation_execution_name(order_id),
                input=json.dumps({"order_id": order_id, "error": {"Error": "ExecutionEndedUnfinished"}}),
            )
        except sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True


def _record_one(record: SQSRecord) -> None:
    services = LambdaServices(source="record_execution_outcome")
    outcome = record_execution_outcome(
        services.repository,
        CompensationExecutions(),
        record.body,
        compensation_machine=config.setting(config.RESUME_STATE_MACHINE_ARN),
    )
    logger.thread_safe_append_keys(correlation_id=outcome.order_id)
    logger.info(
        "execution ended",
        extra={"status": outcome.status, "compensating": outcome.compensating, "parked": outcome.parked},
    )
    if outcome.compensating:
        metrics.add_metric(name="SagasCompensatedAfterExecutionEnded", unit=MetricUnit.Count, value=1)


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return partial_batch_response(event, context, "SQS", _record_one)
