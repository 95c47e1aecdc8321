"""What parked a saga: the compensation that kept failing, its error, and how often it was tried.

The saga's CompensationFailed event holds the compensation, error and cause; the attempts are
in the execution history of the run that parked it (the saga's own execution, or the last
resume's): each try of the compensation's task is one *Scheduled event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.execution_path import read_path
from lambdas.domain.events import CompensationFailed, SagaResumed, StoredEvent
from lambdas.domain.executions import name_of
from lambdas.domain.states import Compensation


@dataclass(frozen=True)
class CompensationFailure:
    compensation: str
    error: str
    cause: str | None
    execution: str
    attempts: int | None
    """None when the execution's history is gone (Step Functions keeps it 90 days)."""


def parking(order_id: str, events: list[StoredEvent]) -> tuple[StoredEvent, str] | None:
    """The CompensationFailed event that parks the saga now, and the execution that wrote it
    (the saga's own execution is named by its order id)."""
    execution = order_id
    parked: tuple[StoredEvent, str] | None = None
    for event in events:
        if event.type == SagaResumed.TYPE_KEY:
            execution, parked = resumed_by(event), None
        elif event.type == CompensationFailed.TYPE_KEY:
            parked = (event, execution)
    return parked


def resumed_by(event: StoredEvent) -> str:
    """The name of the execution a SagaResumed event records (read as the event now is: upcast)."""
    resumed = event.to_domain()
    if not isinstance(resumed, SagaResumed):
        raise TypeError(f"{event.type} is not a resumption")
    return name_of(resumed.execution_arn)


def attempts(history: Sequence[Mapping[str, Any]], compensation: str) -> int:
    """How many times the compensation's task state scheduled its work in this history."""
    run = read_path(history).runs.get(Compensation(compensation).console_name)
    return run.attempts if run else 0
