"""Lambda handler: the saga's Verify Prescription task (`.waitForTaskToken`) -> it waits for a pharmacist.

The function keeps the task's token and records the request with its deadline, then returns: the
task waits until the saga's answer handler passes a pharmacist's decision on, or its deadline
passes. The token is in this function's input only: never logged, never returned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from lambdas.domain.order import ORDER_ID_PATTERN
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.requests import wait_for_pharmacist
from lambdas.observability import logger, metrics, traced


class VerificationTaskInput(BaseModel):
    """The Payload of the Verify Prescription state (infra/saga_workflow.py)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    task_token: SecretStr = Field(min_length=1, max_length=2048)
    """SecretStr: shown as ********** if this model is ever printed."""
    entered_at: AwareDatetime
    """When the task began (`$$.State.EnteredTime`): its timer and the saga's deadline start then."""
    deadline_seconds: int = Field(gt=0)
    attempt: int = Field(default=0, ge=0)
    execution_id: str | None = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(event=event, model=VerificationTaskInput)
    logger.append_keys(correlation_id=task.order_id, task="request_verification", attempt=task.attempt)
    services = LambdaServices(source="request_verification")
    tokens = services.task_tokens
    if tokens is None:
        raise RuntimeError("this stack keeps no task tokens: it was not synthesized to wait for pharmacists")
    deadline_at: datetime = task.entered_at + timedelta(seconds=task.deadline_seconds)
    try:
        wait_for_pharmacist(
            services.repository,
            tokens,
            services.waiting_tasks,
            task.order_id,
            task.task_token.get_secret_value(),
            deadline_at,
            task.execution_id,
        )
    except Exception as error:
        logger.warning("task failed", extra={"outcome": type(error).__name__})
        raise
    logger.info("task done", extra={"outcome": "waiting for a pharmacist"})
    return {}
