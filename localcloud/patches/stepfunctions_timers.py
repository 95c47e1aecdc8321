"""Step Functions' timers and task tokens as AWS runs them, on the local cloud's time scale."""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.api import HistoryEventType, TaskTimedOutEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    CallbackOutcome,
    CallbackOutcomeTimedOut,
    HeartbeatEndpoint,
    HeartbeatTimedOut,
    HeartbeatTimeoutError,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.responses import StepFunctionResponse

_time_scale = 1.0

_STOP_CHECK_SECONDS = 0.1
"""How often (real seconds) a waiting task looks whether its execution was stopped: StopExecution
sets no event the wait could also listen to, and on AWS the execution ends at once."""

# A task token's answer and the task's deadline race; one lock decides which came first, so an
# answer is either taken by the task or refused (never accepted and then dropped).
_closing = threading.Lock()


def task_timed_out() -> JsonRESTError:
    """AWS's refusal of a token whose task is closed (answered, timed out, or its execution over)."""
    return JsonRESTError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")


def set_time_scale(scale: float) -> None:
    global _time_scale
    _time_scale = scale


def scaled(seconds: float) -> float:
    """How long `seconds` of the cloud's time lasts here."""
    return seconds * _time_scale


# --- waiting for a task token ---------------------------------------------------------------


def is_closed(endpoint: CallbackEndpoint) -> bool:
    # moto sets the event when the answer arrives and when the task's wait ends for any reason.
    return bool(endpoint._notify_event.is_set())


def _close(endpoint: CallbackEndpoint) -> CallbackOutcome | None:
    with _closing:
        outcome = endpoint.get_outcome()
        endpoint._notify_event.set()
        return outcome


def wait_for_task_token(
    self: StateTaskServiceCallback,
    env: Environment,
    timeout_seconds: int,
    callback_endpoint: CallbackEndpoint,
    heartbeat_endpoint: HeartbeatEndpoint | None,
) -> CallbackOutcome | HeartbeatTimedOut:
    """Until the answer, the task's deadline (TimeoutSeconds) or a missed heartbeat, scaled."""
    deadline = last_beat = time.monotonic()
    deadline += scaled(timeout_seconds)
    beat = scaled(heartbeat_endpoint._heartbeat_seconds) if heartbeat_endpoint is not None else None
    while env.is_running() and callback_endpoint.get_outcome() is None:
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0:
            break
        if heartbeat_endpoint is None or beat is None:
            callback_endpoint.wait(timeout=min(remaining, _STOP_CHECK_SECONDS))
            continue
        beat_due = last_beat + beat - now
        if beat_due <= 0:
            outcome = _close(callback_endpoint)
            return outcome if outcome is not None else HeartbeatTimedOut()
        if _beat_within(heartbeat_endpoint, min(beat_due, remaining, _STOP_CHECK_SECONDS)):
            last_beat = time.monotonic()
    outcome = _close(callback_endpoint)
    return outcome if outcome is not None else CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)


def _beat_within(heartbeat: HeartbeatEndpoint, seconds: float) -> bool:
    """Whether a heartbeat (or the answer, which moto signals as one) came within `seconds`."""
    with heartbeat._mutex:
        if heartbeat._next_heartbeat_event.is_set():
            heartbeat._next_heartbeat_event.clear()
            return True
    return bool(heartbeat._next_heartbeat_event.wait(timeout=seconds))


def notify(self: CallbackEndpoint, outcome: CallbackOutcome) -> None:
    with _closing:
        if is_closed(self):
            raise task_timed_out()
        self._outcome = outcome
        self._notify_event.set()
    if self._heartbeat_endpoint:
        self._heartbeat_endpoint.notify()  # type: ignore[no-untyped-call]  # moto's, untyped


def notify_heartbeat(self: CallbackEndpoint) -> bool:
    with _closing:
        if is_closed(self):
            raise task_timed_out()
    # AWS takes a heartbeat for any open task, with or without HeartbeatSeconds.
    if self._heartbeat_endpoint:
        self._heartbeat_endpoint.notify()  # type: ignore[no-untyped-call]  # moto's, untyped
    return True


def fresh_token_per_attempt(self: StateTaskServiceCallback, env: Environment, original: Any) -> None:
    """A retried attempt gets a new token: the failed attempt's task is closed, its token refused."""
    if self.resource.condition == ResourceCondition.WaitForTaskToken:
        task: Any = env.states.context_object.context_object_data.get("Task") or {}
        current = task.get("Token")
        endpoint = env.callback_pool_manager.get(current) if current else None
        if endpoint is not None and is_closed(endpoint):
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
    original(self, env)


# --- the heartbeat's error, and the catchers it matches --------------------------------------

HEARTBEAT_TIMEOUT = StatesErrorNameType.StatesHeartbeatTimeout.to_name()
TIMEOUT = StatesErrorNameType.StatesTimeout.to_name()


def heartbeat_failure(self: StateTask, env: Environment, ex: Exception, original: Any) -> FailureEvent:
    if not isinstance(ex, HeartbeatTimeoutError):
        return original(self, env, ex)  # type: ignore[no-any-return]  # moto's, untyped
    return FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=StatesErrorNameType.StatesHeartbeatTimeout),
        event_type=HistoryEventType.TaskTimedOut,
        event_details=EventDetails(  # type: ignore[typeddict-item]  # one kind of details, as moto's own
            taskTimedOutEventDetails=TaskTimedOutEventDetails(
                error=HEARTBEAT_TIMEOUT, resourceType=self._get_sfn_resource_type(), resource=self._get_sfn_resource()
            )
        ),
    )


def timeout_matches_heartbeat(self: ErrorEqualsDecl, env: Environment, original: Any) -> None:
    # AWS: States.Timeout names a task that ran past TimeoutSeconds "or failed to send a heartbeat
    # for a period longer than the HeartbeatSeconds value": a States.Timeout catcher takes both.
    error = env.stack[-1]
    if getattr(error, "error_name", None) == HEARTBEAT_TIMEOUT and any(
        name.error_name == TIMEOUT for name in self.error_names
    ):
        env.stack.pop()
        env.stack.append(True)
        return
    original(self, env)


def no_default_timeout_for_heartbeats(self: ExecutionState, state_props: Any, original: Any) -> None:
    original(self, state_props)
    timeout = self.timeout
    if self.heartbeat is not None and isinstance(timeout, TimeoutSeconds) and timeout.is_default:
        # moto's 60 s stand-in for a missing TimeoutSeconds; AWS's default is none (99999999).
        self.timeout = TimeoutSeconds(timeout_seconds=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS)


_FAILURES_OF_A_STOP = frozenset(
    {
        HistoryEventType.TaskTimedOut,
        HistoryEventType.TaskFailed,
        HistoryEventType.LambdaFunctionTimedOut,
        HistoryEventType.LambdaFunctionFailed,
    }
)
"""What moto records when StopExecution ends a task's wait (a TaskTimedOut States.Timeout for a waiting
task): on AWS the stop ends the execution, ExecutionAborted, with no failure of the task it interrupted."""


def stop_is_no_task_failure(self: Environment, stop_date: Any, cause: Any, error: Any, original: Any) -> None:
    original(self, stop_date, cause, error)
    if isinstance(self._program_state, ProgramStopped):
        self.event_manager.stopped_by_request = True  # type: ignore[attr-defined]  # ours, on moto's manager


def no_failure_after_the_stop(self: EventManager, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
    original = kwargs.pop("original")
    if getattr(self, "stopped_by_request", False) and event_type in _FAILURES_OF_A_STOP:
        return int(context.last_published_event_id or 0)
    return int(original(self, context, event_type, *args, **kwargs))


def stopped_stays_stopped(self: Environment, error: Any, original: Any) -> None:
    """StopExecution is final on AWS (ABORTED); moto let the stopped execution's task, failing
    as its wait ended, turn it FAILED."""
    if isinstance(self._program_state, ProgramStopped):
        return
    original(self, error)


# --- Wait states ------------------------------------------------------------------------------


def scaled_wait(self: WaitFunction, env: Environment) -> None:
    """Wait's Seconds, SecondsPath, Timestamp or TimestampPath, on the time scale; ends with the execution."""
    deadline = time.monotonic() + scaled(max(self._get_wait_seconds(env=env), 0))
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


def refuse_a_closed_task(response: StepFunctionResponse) -> None:
    """A token whose task is closed (answered, timed out, or its execution over) is TaskTimedOut.

    moto looks only among running executions for SendTaskSuccess and SendTaskHeartbeat, and
    answers InvalidToken for a token of a finished one; AWS says its task is closed.
    """
    token = response._get_param("taskToken")
    # attr-defined: moto's backend method, private to its parser backend.
    for execution in response.stepfunction_backend._get_executions():  # type: ignore[attr-defined]
        # An execution just started has a worker but no environment yet (its thread sets it): no token of its.
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        endpoint: CallbackEndpoint | None = env.callback_pool_manager.get(token) if env else None
        if endpoint is not None and (execution.status != "RUNNING" or is_closed(endpoint)):
            raise task_timed_out()
