"""What each order of a load ends in under a fault plan: the saga's path walked with the plan's own draws.

Draws are a pure function of (seed, order, target, attempt) (lambdas/logic/faults.py), so the
outcome is known before the order is sent. How often each task is tried and where each failure
leads is read from the deployed state machine's definition, not assumed: a retrier's MaxAttempts
(3 when absent), the first retrier naming the error or States.ALL applying, and each Catch's Next
(Amazon States Language, "Handling errors in Step Functions workflows",
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
Latency is not walked: it delays a saga, it does not change how it ends (below the task timeout).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra import names
from lambdas.domain import errors
from lambdas.domain.states import STEPS, Compensation, SagaState, Step
from lambdas.logic.faults import FaultPlan, draws_permanent, draws_transient

if TYPE_CHECKING:
    from harness.target import Target

ALL_ERRORS = "States.ALL"
DEFAULT_MAX_ATTEMPTS = 3
"""A retrier's MaxAttempts when its definition leaves it out."""
TRANSIENT = errors.InjectedTransientFault.__name__
PERMANENT = errors.InjectedPermanentFault.__name__

_BY_CONSOLE_NAME: dict[str, Step | Compensation] = {
    **{s.console_name: s for s in Step},
    **{c.console_name: c for c in Compensation},
}


@dataclass(frozen=True)
class Machine:
    """What the saga's state machine does with an injected fault: per task, tries per error, and the
    compensations each of a step's Catches runs, in order."""

    tries: Mapping[str, Mapping[str, int]]
    """task (handler name) -> error name -> how many times it is tried in all (1 + its retries)."""
    undo_when_refused: Mapping[Step, tuple[Compensation, ...]]
    undo_when_crashed: Mapping[Step, tuple[Compensation, ...]]


def _tries(state: Mapping[str, Any], error: str) -> int:
    for retrier in state.get("Retry", []):
        if error in retrier["ErrorEquals"] or ALL_ERRORS in retrier["ErrorEquals"]:
            return 1 + int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))
    return 1


def _chain(states: Mapping[str, Any], start: str | None) -> tuple[Compensation, ...]:
    """The compensations run from `start` until the chain leaves them (Saga Failed)."""
    found: list[Compensation] = []
    while start is not None and isinstance(_BY_CONSOLE_NAME.get(start), Compensation):
        found.append(Compensation(_BY_CONSOLE_NAME[start].value))
        start = states[start].get("Next")
    return tuple(found)


def _caught_to(state: Mapping[str, Any], error: str) -> str | None:
    for catcher in state.get("Catch", []):
        if error in catcher["ErrorEquals"] or ALL_ERRORS in catcher["ErrorEquals"]:
            return str(catcher["Next"])
    return None


def read_machine(definition: Mapping[str, Any]) -> Machine:
    states: Mapping[str, Any] = definition["States"]
    tries: dict[str, dict[str, int]] = {}
    refused: dict[Step, tuple[Compensation, ...]] = {}
    crashed: dict[Step, tuple[Compensation, ...]] = {}
    for name, state in states.items():
        task = _BY_CONSOLE_NAME.get(name)
        if task is None:
            continue
        tries[task.value] = {error: _tries(state, error) for error in (TRANSIENT, PERMANENT)}
        if isinstance(task, Step):
            step = Step(task.value)
            refusal = type(step_refusal(step)).__name__
            refused[step] = _chain(states, _caught_to(state, refusal))
            crashed[step] = _chain(states, _caught_to(state, PERMANENT))
    return Machine(tries, refused, crashed)


def step_refusal(step: Step) -> errors.BusinessFailure:
    """The business failure a step raises when it refuses an order (its Catch matches the name)."""
    refusals: dict[Step, errors.BusinessFailure] = {
        Step.CREATE_PRESCRIPTION: errors.PrescriptionFailed(""),
        Step.RESERVE_INVENTORY: errors.InventoryReservationFailed(""),
        Step.INITIATE_SHIPMENT: errors.ShipmentInitiationFailed(""),
    }
    return refusals[step]


def machine_of(target: Target) -> Machine:
    arn = target.output(names.OUTPUT_STATE_MACHINE)
    described = target.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    return read_machine(json.loads(described["definition"]))


def _gets_through(plan: FaultPlan, machine: Machine, order_id: str, task: str) -> bool:
    """Whether `task` ends without an injected fault for this saga, within its tries."""
    if plan.spec(task) is None:
        return True
    if draws_permanent(plan, order_id, task):  # drawn once per saga: every try fails so
        return False
    return not all(draws_transient(plan, order_id, task, attempt) for attempt in range(machine.tries[task][TRANSIENT]))


def predicted_state(
    plan: FaultPlan, machine: Machine, order_id: str, ends_in: SagaState, refused_at: Step | None
) -> SagaState:
    """The state the saga of `order_id` ends in: `ends_in` as the order alone decides (refused at
    `refused_at`), changed by the faults the plan draws for it."""
    if ends_in is SagaState.REJECTED:  # never reaches a step
        return ends_in
    undo: tuple[Compensation, ...] = ()
    for step in STEPS:
        if not _gets_through(plan, machine, order_id, step.value):
            undo = machine.undo_when_crashed[step]
            break
        if step is refused_at:
            undo = machine.undo_when_refused[step]
            break
    else:
        return SagaState.COMPLETED
    for compensation in undo:
        if not _gets_through(plan, machine, order_id, compensation.value):
            return SagaState.COMPENSATION_FAILED
    return SagaState.FAILED
