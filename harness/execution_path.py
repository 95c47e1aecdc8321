"""The path one execution took through its state machine, read from its execution history.

Each state gets the outcome the Step Functions console colours it by (succeeded, failed,
caught error, in progress, not reached), its attempts (retries are attempts after the
first) and its time span; each edge taken gets the error it caught, if any.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas.adapters.pharmacy_calls import BUILT_IN, NO_ANSWER, Call, parse

SUCCEEDED = "succeeded"
FAILED = "failed"
CAUGHT = "caught"
IN_PROGRESS = "in_progress"
NOT_REACHED = "not_reached"
ABORTED = "aborted"
"""The state an execution was stopped in (StopExecution: a cancellation), which did not fail."""

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
_SUCCESS = {
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
    "ActivitySucceeded": "activitySucceededEventDetails",
}


@dataclass
class StateRun:
    name: str
    outcome: str
    entered_at: datetime
    exited_at: datetime | None = None
    attempts: int = 0
    error: str | None = None
    """The last attempt's error; None when it succeeded."""
    system: str | None = None
    """The business system a step or compensation acted on (`built-in`, or the pharmacy API's host)."""
    calls: list[Call] = field(default_factory=list)
    """Its calls to the pharmacy's API over all its attempts, in order (each attempt's answer or silence)."""

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def via(self) -> str:
        """The system it acted on and, over HTTP, what each call answered: `HTTP host: 503, 503, 201`
        (empty when the history does not say: a state that acts on no system, or failed before any call)."""
        if self.system is None:
            return ""
        if self.system == BUILT_IN:
            return "built-in tables"
        answers = ", ".join(NO_ANSWER if c.status is None else str(c.status) for c in self.calls)
        return f"HTTP {self.system}: {answers}" if answers else f"HTTP {self.system}: no call (already done)"


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


def read_path(events: Sequence[Mapping[str, Any]]) -> ExecutionPath:  # noqa: C901 - a branch per kind of event
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
            details = event.get(_FAILURE[kind], {})
            current.error = details.get("error") or kind
            _note_failed_call(current, str(details.get("cause") or ""))
        elif kind in _SUCCESS and current is not None:
            current.error = None
            _note_result(current, event.get(_SUCCESS[kind], {}).get("output"))
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
            if current is not None:  # failed inside a state, not caught; or stopped in it
                current.outcome = ABORTED if kind == "ExecutionAborted" else FAILED
                current.exited_at = current.exited_at or at
    return path


def _note_failed_call(run: StateRun, cause: str) -> None:
    """A failed attempt's call, from its error message (pharmacy_calls' format), if it made one."""
    try:
        message = json.loads(cause).get("errorMessage", "")
    except (ValueError, AttributeError):
        message = cause
    if (call := parse(str(message))) is not None:
        run.calls.append(call)
        run.system = call.system


def _note_result(run: StateRun, output: Any) -> None:
    """A succeeded attempt's system and calls, from the result its function returned."""
    try:
        result = json.loads(output) if isinstance(output, str) else None
    except ValueError:
        return
    if isinstance(result, dict) and "Payload" in result:  # an SDK-style Lambda integration's answer
        result = result["Payload"]
    if not isinstance(result, dict) or not isinstance(result.get("system"), str):
        return
    run.system = result["system"]
    run.calls.extend(call for text in result.get("calls") or [] if (call := parse(str(text))) is not None)
