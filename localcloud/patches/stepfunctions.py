"""Step Functions: state machines that run, the events AWS emits, and an engine that does each thing once."""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

from moto.stepfunctions.exceptions import ExecutionAlreadyExists
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.responses import StepFunctionResponse

from localcloud.patches import stepfunctions_engine as engine
from localcloud.patches import stepfunctions_status_change as status_change
from localcloud.patches import stepfunctions_timers as timers
from localcloud.patches.stepfunctions_engine import clear_engine_clients
from localcloud.patches.stepfunctions_timers import set_time_scale
from localcloud.patching import Kind, Patch

# --- CloudFormation ------------------------------------------------------------------------


def _state_machine_from_cloudformation(
    cls: type[StateMachine],
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString", "")
    if isinstance(definition, dict):
        definition = json.dumps(definition)
    backend = stepfunctions_parser_backends[account_id][region_name]
    return backend.create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=definition,
        roleArn=properties.get("RoleArn", ""),
        tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        loggingConfiguration=properties.get("LoggingConfiguration"),
        tracingConfiguration=properties.get("TracingConfiguration"),
    )


# --- execution status change events ------------------------------------------------------


def _terminated_with_event(self: BaseExecutionWorkerCommunication) -> None:
    _TERMINATED.original(self)
    status_change.publish(self.execution)


# --- a forgotten execution's name stays taken (localcloud/retention.py forgets them) ----------


_FORGOTTEN_NAMES: weakref.WeakKeyDictionary[StateMachine, set[str]] = weakref.WeakKeyDictionary()
"""Beside each state machine, never on it: moto deep-copies the machine into every execution it
starts, so a set held on it was copied into each, growing with every saga forgotten before."""


def forgotten_names(machine: StateMachine) -> set[str]:
    """The names of `machine`'s executions that retention forgot: StartExecution still refuses them."""
    return _FORGOTTEN_NAMES.setdefault(machine, set())


def _name_stays_taken(self: StateMachine, name: str, execution_input: str) -> Any:
    if name is not None and name in _FORGOTTEN_NAMES.get(self, ()):
        arn = f"{self.arn.replace(':stateMachine:', ':execution:')}:{name}"
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
    return _NAME_IDEMPOTENCY.original(self, name, execution_input)


# --- one parse per definition, one client per service (stepfunctions_engine.py) -----------------


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    return engine.boto_client_for(region, service, state_credentials, _BOTO_CLIENT_FOR.original)


# --- a time scale for Retry backoff, task deadlines, heartbeats and Wait states ----------------

__all__ = ["clear_engine_clients", "forgotten_names", "set_time_scale"]


class _ScaledTime:
    """Stands in for the `time` module inside moto's retrier: backoff waits are scaled."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(timers.scaled(seconds))


def _wait_for_task_token(
    self: StateTaskServiceCallback, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
) -> Any:
    return timers.wait_for_task_token(self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint)


def _eval_execution(self: StateTaskService, env: Any) -> None:
    if isinstance(self, StateTaskServiceCallback):
        timers.fresh_token_per_attempt(self, env, _EVAL_EXECUTION.original)
    else:
        _EVAL_EXECUTION.original(self, env)


def _from_error(self: StateTask, env: Any, ex: Exception) -> Any:
    return timers.heartbeat_failure(self, env, ex, _FROM_ERROR.original)


def _error_equals(self: ErrorEqualsDecl, env: Any) -> None:
    timers.timeout_matches_heartbeat(self, env, _ERROR_EQUALS.original)


def _from_state_props(self: ExecutionState, state_props: Any) -> None:
    timers.no_default_timeout_for_heartbeats(self, state_props, _FROM_STATE_PROPS.original)


def _set_stop(self: Environment, stop_date: Any, cause: Any, error: Any) -> None:
    timers.stop_is_no_task_failure(self, stop_date, cause, error, _SET_STOP.original)


def _add_event(self: EventManager, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
    return timers.no_failure_after_the_stop(self, context, event_type, *args, original=_ADD_EVENT.original, **kwargs)


def _set_error(self: Environment, error: Any) -> None:
    timers.stopped_stays_stopped(self, error, _SET_ERROR.original)


# --- SendTask*: the token's task must be open; SendTaskFailure keeps its cause ------------------


def _send_task_success(self: StepFunctionResponse) -> Any:
    timers.refuse_a_closed_task(self)
    return _SEND_SUCCESS.original(self)


def _send_task_heartbeat(self: StepFunctionResponse) -> Any:
    timers.refuse_a_closed_task(self)
    return _SEND_HEARTBEAT.original(self)


def _send_task_failure(self: StepFunctionResponse) -> Any:
    from moto.core.responses import EmptyResult

    timers.refuse_a_closed_task(self)
    self.stepfunction_backend.send_task_failure(  # type: ignore[call-arg]  # the parser backend's takes a cause
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def _handled_failure_not_logged(self: EvalComponent, failure_event_exception: Any) -> None:
    return None


PATCHES = (
    Patch(
        owner=StateMachine,
        name="create_from_cloudformation_json",
        replacement=_state_machine_from_cloudformation,
        kind=Kind.GAP,
        why="moto's CloudFormation creates a state machine in the backend that cannot execute it; "
        "here in the one that does (moto's ASL interpreter).",
    ),
    _TERMINATED := Patch(
        owner=BaseExecutionWorkerCommunication,
        name="terminated",
        replacement=_terminated_with_event,
        kind=Kind.GAP,
        why="AWS puts an aws.states status change event on the default bus when an execution ends; "
        "moto does not, so rules reacting to FAILED, TIMED_OUT or ABORTED never fired.",
    ),
    _NAME_IDEMPOTENCY := Patch(
        owner=StateMachine,
        name="_handle_name_input_idempotency",
        replacement=_name_stays_taken,
        kind=Kind.GAP,
        why="AWS keeps a closed execution's name taken for 90 days; moto looks for the name among "
        "the executions it holds, so an execution retention forgot freed its name.",
    ),
    Patch(
        owner=EvalComponent,
        name="_log_failure_event_exception",
        replacement=_handled_failure_not_logged,
        kind=Kind.GAP | Kind.SPEED,
        why="moto logs every failure event at ERROR in the caller's process, even one a Catch "
        "handles (a saga's normal path); AWS records it in the execution history only, as here.",
    ),
    Patch(
        owner=ExecutionWorker,
        name="_get_evaluation_entrypoint",
        replacement=engine.evaluation_entrypoint,
        kind=Kind.SPEED,
        why="moto parses the whole definition with ANTLR for every execution (a tenth of a busy "
        "local cloud's CPU); each definition is parsed once.",
    ),
    _BOTO_CLIENT_FOR := Patch(
        owner=lambda_eval_utils,
        name="boto_client_for",
        replacement=_cached_boto_client_for,
        kind=Kind.SPEED,
        why="moto's engine builds a new boto3 client for every Lambda task it runs; clients are "
        "thread-safe: one per region and service.",
    ),
    Patch(
        owner=json_path,
        name="parse",
        replacement=engine.cached_ext_parse,
        kind=Kind.SPEED,
        why="moto builds a JSONPath parser (a ply/yacc table) for every path it evaluates, per "
        "state; parsed expressions are immutable: cached.",
    ),
    Patch(
        owner=result_path,
        name="parse",
        replacement=engine.cached_parse,
        kind=Kind.SPEED,
        why="As json_path.parse, for every state's ResultPath.",
    ),
    Patch(
        owner=retrier_decl,
        name="time",
        replacement=_ScaledTime(),
        kind=Kind.SPEED,
        why="A Retry's backoff sleeps for real in moto; the local cloud scales it (1 s waits 1 ms "
        "in tests: set_time_scale).",
    ),
    Patch(
        owner=StateTaskServiceCallback,
        name="_eval_wait_for_task_token",
        replacement=_wait_for_task_token,
        kind=Kind.GAP,
        why="moto waits for a task token's answer in real time, ignores TimeoutSeconds once "
        "HeartbeatSeconds is set, and lets an answer land after the deadline; here the deadline and "
        "the heartbeat run on the time scale, and the task closes at once when either passes.",
    ),
    Patch(
        owner=CallbackEndpoint,
        name="notify",
        replacement=timers.notify,
        kind=Kind.GAP,
        why="moto takes a second SendTaskSuccess or SendTaskFailure for a task already answered or "
        "timed out (the later silently lost); AWS refuses it: TaskTimedOut.",
    ),
    Patch(
        owner=CallbackEndpoint,
        name="notify_heartbeat",
        replacement=timers.notify_heartbeat,
        kind=Kind.GAP,
        why="moto answers InvalidToken to a heartbeat for a task without HeartbeatSeconds and takes "
        "one for a closed task; AWS takes the first and refuses the second (TaskTimedOut).",
    ),
    _EVAL_EXECUTION := Patch(
        owner=StateTaskService,
        name="_eval_execution",
        replacement=_eval_execution,
        kind=Kind.GAP,
        why="moto reuses a .waitForTaskToken task's token when a Retry runs it again, so the new "
        "attempt found it closed and timed out at once; each attempt gets its own token.",
    ),
    _FROM_ERROR := Patch(
        owner=StateTask,
        name="_from_error",
        replacement=_from_error,
        kind=Kind.GAP,
        why="moto fails a missed heartbeat with States.Timeout; AWS with States.HeartbeatTimeout "
        "(Step Functions developer guide, error names).",
    ),
    _ERROR_EQUALS := Patch(
        owner=ErrorEqualsDecl,
        name="_eval_body",
        replacement=_error_equals,
        kind=Kind.GAP,
        why="On AWS a catcher or retrier of States.Timeout also takes States.HeartbeatTimeout (a "
        "task that failed to heartbeat); moto matched names exactly.",
    ),
    _FROM_STATE_PROPS := Patch(
        owner=ExecutionState,
        name="from_state_props",
        replacement=_from_state_props,
        kind=Kind.GAP,
        why="moto gives a task with HeartbeatSeconds and no TimeoutSeconds a 60 s timeout; on AWS "
        "it has none (the default, 99999999 s).",
    ),
    _SET_STOP := Patch(
        owner=Environment,
        name="set_stop",
        replacement=_set_stop,
        kind=Kind.GAP,
        why="moto records a TaskTimedOut (States.Timeout) for the task a StopExecution interrupts, so a "
        "cancelled saga's history said its waiting task timed out; on AWS the stop ends the execution "
        "(ExecutionAborted) and the task it interrupted records no failure.",
    ),
    _ADD_EVENT := Patch(
        owner=EventManager,
        name="add_event",
        replacement=_add_event,
        kind=Kind.GAP,
        why="See set_stop: the task failures moto records after a StopExecution are not recorded.",
    ),
    _SET_ERROR := Patch(
        owner=Environment,
        name="set_error",
        replacement=_set_error,
        kind=Kind.GAP,
        why="moto leaves a stopped execution RUNNING until its current task ends, and that task's "
        "failure then turns it FAILED; on AWS StopExecution ends it ABORTED (a waiting task notices "
        "the stop within 0.1 s here).",
    ),
    Patch(
        owner=WaitFunction,
        name="_eval_body",
        replacement=timers.scaled_wait,
        kind=Kind.GAP,
        why="moto's Wait states (Seconds, Timestamp and their paths) wait in real time; the local "
        "cloud's time is scaled (a day waits 86 s at the default 0.001).",
    ),
    _SEND_SUCCESS := Patch(
        owner=StepFunctionResponse,
        name="send_task_success",
        replacement=_send_task_success,
        kind=Kind.GAP,
        why="moto answers InvalidToken for the token of a finished execution's task; AWS says the "
        "task is closed: TaskTimedOut.",
    ),
    _SEND_HEARTBEAT := Patch(
        owner=StepFunctionResponse,
        name="send_task_heartbeat",
        replacement=_send_task_heartbeat,
        kind=Kind.GAP,
        why="As SendTaskSuccess: a finished execution's task token is TaskTimedOut, not InvalidToken.",
    ),
    Patch(
        owner=StepFunctionResponse,
        name="send_task_failure",
        replacement=_send_task_failure,
        kind=Kind.GAP,
        why="moto drops SendTaskFailure's cause, so a Catch's ResultPath got Cause \"\"; AWS hands "
        "on {Error, Cause} as sent. A closed task's token is TaskTimedOut.",
    ),
)
