"""What the read commands ask of a stack: sagas, their executions and histories, stock, replay."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import NotFound
from harness.execution_path import ExecutionPath, read_path
from harness.parked import CompensationFailure, attempts, parking, resumed_by
from harness.saga_executions import SagaExecution, executions, last_did, state_now
from harness.target import Target
from harness.verification import Cancellation, Unapplied, Verification, cancellation, unapplied, verification
from infra import names
from lambdas.adapters.step_functions import StepFunctions, execution_arn
from lambdas.domain.events import CompensationRecorded, SagaResumed, StoredEvent
from lambdas.domain.executions import Run, execution_name
from lambdas.domain.projection import SagaView
from lambdas.domain.states import PENDING_STATES, SagaState
from lambdas.logic.ports import ExecutionNotFound
from lambdas.logic.project import replay
from lambdas.logic.repository import SagaRepository, stream_id_for

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef, HistoryEventTypeDef

STATE_GROUPS: dict[str, frozenset[SagaState]] = {
    "pending": PENDING_STATES | {SagaState.COMPENSATING},
    "completed": frozenset({SagaState.COMPLETED}),
    "failed": frozenset({SagaState.FAILED}),
    "compensation_failed": frozenset({SagaState.COMPENSATION_FAILED}),
    "rejected": frozenset({SagaState.REJECTED}),
    # and each state alone, as every screen prints it (STATE_GROUPS' keys are lower case)
    **{state.value.lower(): frozenset({state}) for state in SagaState},
}


def history(target: Target, order_id: str) -> list[StoredEvent]:
    events = target.event_store().read(stream_id_for(order_id))
    if not events:
        raise NotFound(f"no saga for order {order_id}")
    return events


def saga_state(target: Target, order_id: str) -> SagaState:
    """The saga's state from its own events, loaded as its steps load it (the CLI saves nothing):
    the projection follows them a moment later."""
    state = SagaRepository(target.event_store(), source="saga-cli").load(order_id).state
    if state is None:
        raise NotFound(f"no saga for order {order_id}")
    return state


def step_functions(target: Target) -> StepFunctions:
    return StepFunctions(target.client("stepfunctions"))


def saga_execution_arn(target: Target, order_id: str) -> str | None:
    """The ARN of the saga's own execution; None for an id no order can have (nothing was named by it)."""
    try:
        name = execution_name(order_id, Run.SAGA)
    except ValueError:
        return None
    return execution_arn(target.output(names.OUTPUT_STATE_MACHINE), name)


def execution(target: Target, order_id: str) -> DescribeExecutionOutputTypeDef | None:
    """The saga's execution (DescribeExecution), None when it never started."""
    arn = saga_execution_arn(target, order_id)
    return None if arn is None else step_functions(target).describe(arn)


def execution_history(target: Target, arn: str) -> list[HistoryEventTypeDef]:
    """Every event of an execution's history, oldest first."""
    return step_functions(target).history(arn)


@dataclass(frozen=True)
class Status:
    view: SagaView | None
    execution: Mapping[str, Any] | None
    events: list[StoredEvent]
    compensation_failure: CompensationFailure | None = None
    """For a parked saga: what parked it."""
    path: ExecutionPath | None = None
    """The saga execution's states: outcome, attempts, the system each acted on and what it answered."""
    verification: Verification | None = None
    """Its wait for a pharmacist (prescription_verification=pharmacist), if it asked for one."""
    cancellation: Cancellation | None = None
    unapplied: tuple[Unapplied, ...] = ()
    """Answers and cancellations it recorded without effect, each with why."""
    executions: tuple[SagaExecution, ...] = ()
    """Every execution that worked on the saga, oldest first: its own, the compensation machine's, each resume."""
    last_did: str | None = None
    """One line: what the last of them did, and the saga's state now."""


def status(target: Target, order_id: str) -> Status:
    events = history(target, order_id)
    found = execution(target, order_id)
    arn = saga_execution_arn(target, order_id)
    every = saga_executions(target, order_id, events)
    view = target.projection().get(order_id)
    return Status(
        view,
        found,
        events,
        compensation_failure(target, order_id, events),
        None if found is None or arn is None else read_path(execution_history(target, arn)),
        verification(events),
        cancellation(events),
        tuple(unapplied(events)),
        tuple(every),
        last_did(every, state_now(events)),
    )


def saga_executions(target: Target, order_id: str, events: list[StoredEvent]) -> list[SagaExecution]:
    """Every execution of the saga, oldest first (a stack without a compensation machine has its own only)."""
    return executions(
        step_functions(target),
        target.output(names.OUTPUT_STATE_MACHINE),
        target.outputs.get(names.OUTPUT_RESUME_STATE_MACHINE),
        order_id,
        events,
    )


def compensation_failure(target: Target, order_id: str, events: list[StoredEvent]) -> CompensationFailure | None:
    found = parking(order_id, events)
    if found is None:
        return None
    event, name = found
    compensation = str(event.payload["compensation"])
    # The saga's own execution ran on the saga machine; a resume's on the resume machine.
    machine = names.OUTPUT_STATE_MACHINE if name == order_id else names.OUTPUT_RESUME_STATE_MACHINE
    try:
        tried: int | None = attempts(
            execution_history(target, execution_arn(target.output(machine), name)), compensation
        )
    except ExecutionNotFound:
        tried = None
    error, cause = str(event.payload["error"]), event.payload.get("cause")
    # Record Compensation Failure keeps only the error's name as its cause (a cause can hold a stack
    # trace): the same word twice says nothing more.
    return CompensationFailure(compensation, error, None if cause == error else cause, name, tried)


def parked_by(target: Target, view: SagaView) -> SagaView:
    """A parked saga's row saying which compensation failed and with what error (its CompensationFailed
    event: the projection keeps the saga's own reason), then why it was compensating; any other row as it is."""
    if view.state is not SagaState.COMPENSATION_FAILED:
        return view
    found = parking(view.order_id, history(target, view.order_id))
    if found is None:
        return view
    event = found[0]
    said = f"{str(event.payload['compensation']).replace('_', ' ').title()} failed: {event.payload['error']}"
    if view.failure_reason:
        said += f" (compensating for: {view.failure_reason})"
    return view.model_copy(update={"failure_reason": said})


def compensations_since(events: list[StoredEvent], execution_name: str) -> list[str]:
    """The compensations recorded after the resume named `execution_name` began."""
    resumed = [i for i, e in enumerate(events) if e.type == SagaResumed.TYPE_KEY]
    start = next((i for i in resumed if resumed_by(events[i]) == execution_name), len(events))
    return [str(e.payload["compensation"]) for e in events[start:] if e.type == CompensationRecorded.TYPE_KEY]


@dataclass(frozen=True)
class Newest:
    views: list[SagaView]
    """At most the limit asked for, newest first; a parked saga's says what parked it (parked_by)."""
    more: bool
    """Whether older sagas in those states are left out."""


def newest_sagas(target: Target, states: Iterable[SagaState], limit: int, before: str | None = None) -> Newest:
    """The newest `limit` sagas in `states`, updated before `before` (ISO time) if given: what the
    CLI's `saga list` and the console's list both show.

    Each state's index is asked for at most one row past the limit, and their merge is cut to the
    limit: one query per state, however many sagas are stored."""
    projection = target.projection()
    found: list[SagaView] = []
    for state in sorted(set(states)):
        found.extend(projection.by_state(state.value, limit=limit + 1, before=before))
    found.sort(key=lambda v: v.updated_at, reverse=True)
    return Newest([parked_by(target, v) for v in found[:limit]], more=len(found) > limit)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def stats(target: Target) -> dict[str, Any]:
    views = list(target.projection().all())
    counts = Counter(v.state.value for v in views)
    durations = sorted(
        v.duration_seconds for v in views if v.duration_seconds is not None and v.state is not SagaState.REJECTED
    )
    return {
        "total": len(views),
        "by_state": {state.value: counts.get(state.value, 0) for state in SagaState},
        "conflicting_orders": sum(v.conflicting_orders for v in views),
        "sagas_with_conflicting_orders": sum(1 for v in views if v.conflicting_orders),
        "duration_seconds": {
            "count": len(durations),
            "p50": percentile(durations, 50),
            "p95": percentile(durations, 95),
            "p99": percentile(durations, 99),
            "max": durations[-1] if durations else None,
        },
    }


@dataclass(frozen=True)
class ReplayReport:
    rebuilt: int
    missing: list[str]
    """In the event store but not in the projection."""
    extra: list[str]
    """In the projection without any events."""
    different: list[str]
    applied: bool

    @property
    def identical(self) -> bool:
        return not (self.missing or self.extra or self.different)


def replay_projection(target: Target, apply: bool) -> ReplayReport:
    rebuilt = replay(target.event_store().iter_all())
    live = {v.order_id: v for v in target.projection().all()}
    missing = sorted(set(rebuilt) - set(live))
    extra = sorted(set(live) - set(rebuilt))
    different = sorted(k for k in set(rebuilt) & set(live) if rebuilt[k] != live[k])
    if apply:
        for order_id in [*missing, *different]:
            target.projection().replace(rebuilt[order_id])
    return ReplayReport(len(rebuilt), missing, extra, different, applied=apply)


def business_table(target: Target, table: str) -> str:
    """The name of a business table (Catalogue, Inventory, Prescriptions, Reservations, Shipments),
    from the stack's outputs: the same on the local cloud and on AWS, whatever CDK's logical ids."""
    if table not in names.BUSINESS_TABLE_OUTPUTS:
        raise NotFound(f"no business table {table!r}: one of {', '.join(names.BUSINESS_TABLE_OUTPUTS)}")
    return target.output(names.BUSINESS_TABLE_OUTPUTS[table])


def business_records(target: Target, table: str, order_id: str | None = None) -> list[dict[str, Any]]:
    """Every item of a business table (Prescriptions, Reservations, Shipments), or those of one order."""
    dynamodb, name = target.client("dynamodb"), business_table(target, table)
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        items.extend(i for i in page["Items"] if order_id is None or i.get("order_id", {}).get("S") == order_id)
    return items
