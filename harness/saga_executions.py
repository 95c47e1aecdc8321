"""Every execution that worked on one saga, in order: its own, the compensation machine's, each operator resume.

A saga runs on the saga machine under its order id; when that execution ends unfinished the
compensation machine runs under its compensation name (lambdas/domain/executions.py); each `saga resume` runs the same
machine under a fresh name that the saga's stream records (its SagaResumed event): the stream is
the truth of which resumes touched the saga, a name prefix is only a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.execution_path import FAILED, IN_PROGRESS, ExecutionPath, read_path
from harness.parked import resumed_by
from lambdas.adapters.step_functions import StepFunctions, execution_arn
from lambdas.domain.events import OrderFulfillmentSagaStateChanged, SagaResumed, StoredEvent
from lambdas.domain.executions import Run, execution_name
from lambdas.domain.states import VERIFY_PRESCRIPTION, Compensation, Step

SAGA = "saga"
COMPENSATION = "compensation"
RESUME = "resume"

_WORK = frozenset({s.console_name for s in Step} | {c.console_name for c in Compensation} | {VERIFY_PRESCRIPTION})
"""The states doing the saga's work, the wait for a pharmacist included; the bookkeeping (Resume Saga, Record
Compensation Failure) is not told."""


@dataclass(frozen=True)
class SagaExecution:
    kind: str
    """SAGA, COMPENSATION (after the saga's execution ended unfinished) or RESUME (an operator's)."""
    number: int
    """1 for the saga's and the compensation's; the resume's rank among the saga's resumes."""
    name: str
    status: str
    started_at: datetime
    stopped_at: datetime | None
    path: ExecutionPath

    @property
    def label(self) -> str:
        if self.kind == SAGA:
            return "the saga's execution"
        if self.kind == COMPENSATION:
            return "the compensation after it ended unfinished"
        return f"resume {self.number}"

    @property
    def ran(self) -> list[str]:
        """The steps and compensations it entered, in order, each failed one with its error."""
        told = []
        for name in self.path.order:
            run = self.path.runs[name]
            if name not in _WORK:
                continue
            if run.outcome == FAILED or (run.error and run.outcome != IN_PROGRESS):
                told.append(f"{name} (failed: {run.error or 'unknown error'})")
            else:
                told.append(name)
        return told


def executions(
    step_functions: StepFunctions,
    saga_machine: str,
    compensation_machine: str | None,
    order_id: str,
    events: list[StoredEvent],
) -> list[SagaExecution]:
    """The saga's executions that exist, oldest first."""
    try:
        own, compensating = execution_name(order_id, Run.SAGA), execution_name(order_id, Run.COMPENSATION)
    except ValueError:  # no order has that id: no execution was ever named after it
        return []
    wanted: list[tuple[str, int, str]] = [(SAGA, 1, execution_arn(saga_machine, own))]
    if compensation_machine is not None:
        wanted.append((COMPENSATION, 1, execution_arn(compensation_machine, compensating)))
        resumes = [resumed_by(e) for e in events if e.type == SagaResumed.TYPE_KEY]
        for number, name in enumerate(dict.fromkeys(resumes), start=1):  # a retried Resume Saga records once
            wanted.append((RESUME, number, execution_arn(compensation_machine, name)))
    found = []
    for kind, number, arn in wanted:
        described = step_functions.describe(arn)
        if described is not None:
            found.append(_execution(kind, number, described, step_functions.history(arn)))
    return sorted(found, key=lambda e: e.started_at)


def _execution(
    kind: str, number: int, described: Mapping[str, Any], history: Sequence[Mapping[str, Any]]
) -> SagaExecution:
    return SagaExecution(
        kind,
        number,
        str(described["name"]),
        str(described["status"]),
        described["startDate"],
        described.get("stopDate"),
        read_path(history),
    )


def state_now(events: list[StoredEvent]) -> str | None:
    """The saga's state as its last state change on the stream says (the projection follows it a moment later);
    read from the stored payload, so an old or odd event elsewhere on the stream cannot stop the page."""
    changes = [e for e in events if e.type == OrderFulfillmentSagaStateChanged.TYPE_KEY]
    return str(changes[-1].payload.get("to_state")) if changes else None


def last_did(found: list[SagaExecution], saga_state: str | None) -> str | None:
    """One line: what the last execution did and where that leaves the saga."""
    if not found:
        return None
    last = found[-1]
    ran = " → ".join(last.ran) or "no step or compensation"
    doing = "is running" if last.status == "RUNNING" else "ran"
    where = f": the saga is {saga_state}" if saga_state else ""
    return f"{last.label} ({last.status}) {doing} {ran}{where}"


def merged_path(found: list[SagaExecution], states: set[str]) -> ExecutionPath | None:
    """The saga machine's path with each later execution's runs of the same states laid over it (the graph
    draws the saga machine): a compensation a resume ran shows that run, the edges it took between the saga
    machine's states are taken. None when the saga never had an execution on its own machine."""
    first = next((e for e in found if e.kind == SAGA), None)
    if first is None:
        return None
    merged = ExecutionPath(
        runs=dict(first.path.runs),
        taken=dict(first.path.taken),
        started_at=first.path.started_at,
        stopped_at=first.path.stopped_at,
        order=list(first.path.order),
    )
    for later in found:
        if later is first or later.started_at < first.started_at:
            continue
        for name in later.path.order:
            if name in states:
                merged.runs[name] = later.path.runs[name]
                if name not in merged.order:
                    merged.order.append(name)
        for (source, target), caught in later.path.taken.items():
            if source in states and target in states:
                merged.taken[(source, target)] = caught
        merged.stopped_at = later.path.stopped_at or merged.stopped_at
    return merged
