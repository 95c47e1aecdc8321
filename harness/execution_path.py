"""The path one execution took through its state machine, read from its execution history.

Each state gets the outcome the Step Functions console colours it by (succeeded, failed,
caught error, in progress, not reached), its attempts (retries are attempts after the
first) and its time span; each edge taken gets the error it caught, if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUCCEEDED = "succeeded"
FAILED = "failed"
CAUGHT = "caught"
IN_PROGRESS = "in_progress"
NOT_REACHED = "not_reached"

START = "Start"
END = "End"
"""The console's two pseudo-states around the machine's own."""

_ATTEMPT = frozenset({"LambdaFunctionScheduled", "TaskScheduled", "ActivityScheduled"})
_FAILURE = {
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
}
_SUCCESS = frozenset({"LambdaFunctionSucceeded", "TaskSucceeded", "ActivitySucceeded"})


@dataclass
class StateRun:
    name: str
    outcome: str
    entered_at: datetime
    exited_at: datetime | None = None
    attempts: int = 0
    error: str | None = None
    """The last attempt's error; None when it succeeded."""

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


@dataclass
class ExecutionPath:
    runs: dict[str, StateRun] = field(default_factory=dict)
    taken: dict[tuple[str, str], str | None] = field(default_factory=dict)
    """(from, to) → the error caught on that edge (None: a plain transition)."""
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    order: list[str] = field(default_factory=list)
    """The states in the order they were entered (a state entered twice appears once)."""

    def outcome(self, state: str) -> str:
        run = self.runs.get(state)
        return run.outcome if run else NOT_REACHED


def read_path(events: list[dict[str, Any]]) -> ExecutionPath:  # noqa: C901 - a branch per kind of event
    """The path from `get_execution_history` events, oldest first."""
    path = ExecutionPath()
    current: StateRun | None = None
    previous: str | None = None
    for event in events:
        kind, at = event["type"], event["timestamp"]
        if kind == "ExecutionStarted":
            path.started_at = at
            path.runs[START] = StateRun(START, SUCCEEDED, at, at)
            previous = START
        elif kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if previous is not None:
                caught = path.runs[previous].error if previous in path.runs else None
                path.taken[(previous, name)] = caught
                if caught and path.runs[previous].outcome == SUCCEEDED:
                    path.runs[previous].outcome = CAUGHT
            outcome = FAILED if kind == "FailStateEntered" else IN_PROGRESS
            current = StateRun(name, outcome, at)
            path.runs[name] = current
            if name not in path.order:
                path.order.append(name)
        elif kind in _ATTEMPT and current is not None:
            current.attempts += 1
            current.error = None
        elif kind in _FAILURE and current is not None:
            current.error = event.get(_FAILURE[kind], {}).get("error") or kind
        elif kind in _SUCCESS and current is not None:
            current.error = None
        elif kind.endswith("StateExited") and current is not None:
            current.exited_at = at
            if current.outcome == IN_PROGRESS:
                current.outcome = SUCCEEDED
            previous, current = current.name, None
        elif kind == "ExecutionSucceeded":
            path.stopped_at = at
            if previous is not None:
                path.taken[(previous, END)] = None
            path.runs[END] = StateRun(END, SUCCEEDED, at, at)
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            path.stopped_at = at
            if current is not None:  # failed inside a state, not caught
                current.outcome = FAILED
                current.exited_at = current.exited_at or at
    return path
