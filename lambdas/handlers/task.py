"""The decorator stack every state-machine task shares: parse, log context, metrics, tracing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from lambdas.contract import PHARMACY_CONTRACT_ERRORS
from lambdas.domain.errors import PharmacyContractError
from lambdas.domain.order import ORDER_ID_PATTERN
from lambdas.domain.states import Compensation, Step
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.saga_steps import Invocation
from lambdas.observability import emit_now, logger, metrics, traced

_BUSINESS_TASKS = frozenset(
    [step.value for step in Step] + [c.value for c in Compensation if c is not Compensation.CANCEL_ORDER]
)
"""The tasks that act on a business system (built in or the pharmacy's): their results name it."""

TaskFunction = Callable[[LambdaServices, Invocation], dict[str, Any]]
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class TaskInput(BaseModel):
    """The Payload every Task state sends (see infra/saga_workflow.py)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    attempt: int = Field(default=0, ge=0)
    execution_id: str | None = None
    error: dict[str, Any] | None = None


def task_handler(name: str, run: TaskFunction) -> Handler:
    """A Lambda handler for one saga task called `name` that runs `run`."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    @traced
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        task = parse(event=event, model=TaskInput)
        logger.append_keys(correlation_id=task.order_id, task=name, attempt=task.attempt)
        services = LambdaServices(source=name)
        try:
            result = run(
                services,
                Invocation(
                    order_id=task.order_id,
                    attempt=task.attempt,
                    causation_id=task.execution_id,
                    error=task.error,
                ),
            )
            logger.info("task done", extra={"outcome": "succeeded"})
            return {**result, **services.systems_used()} if name in _BUSINESS_TASKS else result
        except Exception as error:
            logger.warning("task failed", extra={"outcome": type(error).__name__})
            if isinstance(error, PharmacyContractError):
                emit_now(PHARMACY_CONTRACT_ERRORS)
            raise

    handler.__name__ = f"{name}_handler"
    return handler
