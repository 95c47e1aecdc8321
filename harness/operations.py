"""What the operator changes: resume a parked saga, redrive the dead-letter queue (CLI and console alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import queries
from harness.errors import HarnessError
from harness.target import Target
from harness.waiting import poll
from infra import names
from lambdas.domain.executions import Run, execution_name
from lambdas.domain.states import SagaState
from lambdas.logic.execution_outcome import RESUMED_BY_OPERATOR, compensation_input

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef


class NotResumable(HarnessError):
    pass


def resumable(target: Target, order_id: str) -> SagaState:
    """The saga's state when it can be resumed (it is parked); NotResumable otherwise."""
    # The saga's own events decide: the projection can lag them (it is updated from the
    # event store's stream), and would show a finished resume as still parked.
    state = queries.saga_state(target, order_id)
    if state is not SagaState.COMPENSATION_FAILED:
        raise NotResumable(f"{order_id} is {state.value}: only a COMPENSATION_FAILED saga can be resumed")
    return state


def start_resume(target: Target, order_id: str) -> tuple[str, str]:
    """Start the compensation machine for a COMPENSATION_FAILED saga: (execution name, execution ARN)."""
    resumable(target, order_id)
    name = execution_name(order_id, Run.RESUME)
    machine = target.output(names.OUTPUT_RESUME_STATE_MACHINE)
    arn = queries.step_functions(target).start(machine, name, compensation_input(order_id, RESUMED_BY_OPERATOR))
    return name, arn


def resume(target: Target, order_id: str, wait: float) -> dict[str, Any]:
    """Resume a parked saga and wait up to `wait` seconds for its compensations, reported in the
    saga's terms: its state now and what this resume undid (the resume machine's own status says
    how the machine ended, not whether the saga was undone)."""
    name, arn = start_resume(target, order_id)
    step_functions = queries.step_functions(target)

    def ended() -> DescribeExecutionOutputTypeDef | None:
        execution = step_functions.describe(arn)
        return execution if execution is not None and execution["status"] != "RUNNING" else None

    finished = poll(ended, wait, pause=lambda: 0.2)
    state = queries.saga_state(target, order_id)  # read first: the events read next hold what decided it
    events = queries.history(target, order_id)
    # Parked again by this very resume: what failed this time, and why (an earlier parking is not its reason).
    failure = queries.compensation_failure(target, order_id, events)
    return {
        "order_id": order_id,
        "execution": name,
        "finished": finished is not None,
        "state": state.value,
        "compensations_run": queries.compensations_since(events, name),
        "parked_again": vars(failure) if failure is not None and failure.execution == name else None,
    }


def redrive(target: Target, limit: int) -> int:
    """Move dead-lettered order messages back to the start queue, each once; how many moved."""
    from harness.redrive import move_dead_letters

    return move_dead_letters(
        target.client("sqs"),
        dead=target.output(names.OUTPUT_DEAD_LETTER_QUEUE),
        start=target.output(names.OUTPUT_START_QUEUE),
        limit=limit,
    )
