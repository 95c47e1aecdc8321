"""Task tokens, deadlines, heartbeats and Wait states in the local cloud: as AWS runs them, time-scaled.

Each test deploys a tiny state machine of its own into a bare local cloud. The time scale is 1e-5
(a day lasts 0.86 s): at the default 0.001 the saga's day-long verification deadline would last
86 s. A test that waits for an execution gives up after `_PATIENCE` seconds, long past any scaled
deadline here and far short of moto's real-time ones (60 s and more).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from tests.localcloud.pins import moto_own, pins

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

SCALE = 1e-5
DAY = 86_400
_PATIENCE = 20.0
_HANDLER = "tokens.handler"


@pytest.fixture
def local() -> Iterator[LocalCloud]:
    with LocalCloud.start(time_scale=SCALE) as cloud:
        yield cloud


# --- a tiny deployment --------------------------------------------------------------------------


def _role(local: LocalCloud) -> str:
    iam = local.client("iam")
    trust = {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
    arn = iam.create_role(
        RoleName="machine", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    grant = {"Effect": "Allow", "Action": ["sqs:SendMessage", "lambda:InvokeFunction"], "Resource": "*"}
    iam.put_role_policy(
        RoleName="machine",
        PolicyName="tasks",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
    )
    return str(arn)


def _queue(local: LocalCloud) -> str:
    return str(local.client("sqs").create_queue(QueueName="tokens")["QueueUrl"])


def _machine(local: LocalCloud, states: dict[str, Any], start: str = "Ask") -> str:
    definition = json.dumps({"StartAt": start, "States": states})
    sfn = local.client("stepfunctions")
    return str(
        sfn.create_state_machine(name=f"m{time.monotonic_ns()}", definition=definition, roleArn=_role_once(local))[
            "stateMachineArn"
        ]
    )


_roles: dict[int, str] = {}


def _role_once(local: LocalCloud) -> str:
    if id(local) not in _roles:
        _roles[id(local)] = _role(local)
    return _roles[id(local)]


def _ask_by_sqs(queue: str, **fields: Any) -> dict[str, Any]:
    """A task that sends its token to `queue` and waits for the answer."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
        **fields,
    }


def _caught(errors: list[str], then: str = "Caught") -> list[dict[str, Any]]:
    return [{"ErrorEquals": errors, "ResultPath": "$.error", "Next": then}]


CAUGHT = {"Caught": {"Type": "Pass", "End": True}}


def _tokens(local: LocalCloud, queue: str, count: int = 1) -> list[str]:
    """The next `count` tokens the machine sent to `queue`."""
    sqs = local.client("sqs")
    tokens: list[str] = []
    deadline = time.monotonic() + _PATIENCE
    while len(tokens) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            tokens.append(json.loads(message["Body"])["token"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(tokens) == count, f"the machine sent {len(tokens)} tokens, not {count}"
    return tokens


def _start(local: LocalCloud, machine: str, payload: dict[str, Any] | None = None) -> str:
    # Named: moto names an unnamed execution "None", and refuses a second one (AWS draws a UUID).
    sfn = local.client("stepfunctions")
    name = f"e{time.monotonic_ns()}"
    return str(sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload or {}))["executionArn"])


def _ended(local: LocalCloud, execution: str) -> DescribeExecutionOutputTypeDef:
    sfn = local.client("stepfunctions")
    deadline = time.monotonic() + _PATIENCE
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"still running after {_PATIENCE} s: the deadline did not pass on the time scale")


def _error(described: Mapping[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])["error"]


def _refusal(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    return str(refused.value.response["Error"]["Code"])


# --- 1. TimeoutSeconds on the time scale, through Lambda and SQS ----------------------------------


def _lambda_asking(local: LocalCloud, seen: list[str]) -> str:
    local.runtime.replacements[_HANDLER] = lambda event, context: seen.append(event["token"])
    function = local.client("lambda").create_function(
        FunctionName="ask",
        Runtime="python3.11",
        Role=_role_once(local),
        Handler=_HANDLER,
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    return str(function["FunctionArn"])


@pins("stepfunctions.StateTaskServiceCallback._eval_wait_for_task_token")
def test_a_day_long_deadline_through_lambda_fails_with_states_timeout_on_the_time_scale(local: LocalCloud) -> None:
    seen: list[str] = []
    ask = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": _lambda_asking(local, seen), "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": DAY,
        "Catch": _caught(["States.Timeout"]),
        "End": True,
    }
    # Given a task that waits a (scaled) day for its answer, when none comes
    described = _ended(local, _start(local, _machine(local, {"Ask": ask, **CAUGHT})))
    # Then it fails with States.Timeout, which its Catch takes, and its token is refused after
    assert _error(described)["Error"] == "States.Timeout"
    [token] = seen
    sfn = local.client("stepfunctions")
    assert _refusal(sfn.send_task_success, taskToken=token, output="{}") == "TaskTimedOut"


@pins("stepfunctions.StateTaskService._eval_execution")
def test_a_retried_task_gets_a_new_token_and_the_old_one_is_refused(local: LocalCloud) -> None:
    queue = _queue(local)
    retry = [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 1}]
    ask = _ask_by_sqs(queue, TimeoutSeconds=DAY, Retry=retry, End=True)
    execution = _start(local, _machine(local, {"Ask": ask}))
    # When the first attempt times out and the Retry runs it again
    first, second = _tokens(local, queue, 2)
    sfn = local.client("stepfunctions")
    # Then the second attempt has its own token, which answers it; the first attempt's is closed
    assert first != second
    assert _refusal(sfn.send_task_success, taskToken=first, output='{"late": true}') == "TaskTimedOut"
    sfn.send_task_success(taskToken=second, output='{"verified": true}')
    described = _ended(local, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"verified": True}


# --- 2. HeartbeatSeconds ------------------------------------------------------------------------


@pins("stepfunctions.StateTask._from_error")
def test_a_missed_heartbeat_fails_with_states_heartbeat_timeout(local: LocalCloud) -> None:
    queue = _queue(local)
    ask = _ask_by_sqs(queue, TimeoutSeconds=DAY, HeartbeatSeconds=600, Catch=_caught(["States.ALL"]), End=True)
    machine = _machine(local, {"Ask": ask, **CAUGHT})
    # AWS's error names: "States.HeartbeatTimeout: a Task state failed to send a heartbeat for a
    # period longer than the HeartbeatSeconds value"
    assert _error(_ended(local, _start(local, machine)))["Error"] == "States.HeartbeatTimeout"
    with moto_own("stepfunctions.StateTask._from_error"):
        assert _error(_ended(local, _start(local, machine)))["Error"] == "States.Timeout", "moto's name for it"


@pins("stepfunctions.ErrorEqualsDecl._eval_body")
def test_a_catcher_of_states_timeout_also_takes_a_missed_heartbeat(local: LocalCloud) -> None:
    queue = _queue(local)
    ask = _ask_by_sqs(queue, HeartbeatSeconds=600, TimeoutSeconds=DAY, Catch=_caught(["States.Timeout"]), End=True)
    machine = _machine(local, {"Ask": ask, **CAUGHT})
    # AWS: States.Timeout is "a Task state either ran longer than the TimeoutSeconds value, or
    # failed to send a heartbeat for a period longer than the HeartbeatSeconds value"
    assert _error(_ended(local, _start(local, machine)))["Error"] == "States.HeartbeatTimeout"
    with moto_own("stepfunctions.ErrorEqualsDecl._eval_body"):
        assert _ended(local, _start(local, machine))["status"] == "FAILED", "moto matched the name exactly"


def test_heartbeats_keep_a_task_open_until_its_answer(local: LocalCloud) -> None:
    queue = _queue(local)
    ask = _ask_by_sqs(queue, HeartbeatSeconds=DAY // 2, TimeoutSeconds=DAY, End=True)
    execution = _start(local, _machine(local, {"Ask": ask}))
    [token] = _tokens(local, queue)
    sfn = local.client("stepfunctions")
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"verified": true}')
    assert json.loads(_ended(local, execution)["output"]) == {"verified": True}


@pins("stepfunctions.ExecutionState.from_state_props")
def test_heartbeat_seconds_without_timeout_seconds_sets_no_deadline(local: LocalCloud) -> None:
    queue = _queue(local)
    ask = _ask_by_sqs(queue, HeartbeatSeconds=DAY, Catch=_caught(["States.ALL"]), End=True)
    machine = _machine(local, {"Ask": ask, **CAUGHT})
    # The cloud's clock: a two-minute Wait that has ended means two (scaled) minutes have passed
    clock = _machine(local, {"Wait": {"Type": "Wait", "Seconds": 120, "End": True}}, start="Wait")
    sfn = local.client("stepfunctions")

    def answered_after_two_minutes() -> DescribeExecutionOutputTypeDef:
        execution = _start(local, machine)
        [token] = _tokens(local, queue)
        assert _ended(local, _start(local, clock))["status"] == "SUCCEEDED"
        sfn.send_task_heartbeat(taskToken=token)
        sfn.send_task_success(taskToken=token, output='{"verified": true}')
        return _ended(local, execution)

    # AWS: no TimeoutSeconds, no deadline (only the heartbeat's)
    assert json.loads(answered_after_two_minutes()["output"]) == {"verified": True}
    with moto_own("stepfunctions.ExecutionState.from_state_props"), pytest.raises(ClientError, match="TaskTimedOut"):
        answered_after_two_minutes()  # moto's stand-in deadline: 60 s


# --- 3. SendTaskFailure's error and cause reach the Catch --------------------------------------


@pins("stepfunctions.StepFunctionResponse.send_task_failure")
def test_send_task_failure_hands_its_error_and_cause_to_the_catch(local: LocalCloud) -> None:
    queue = _queue(local)
    ask = _ask_by_sqs(queue, TimeoutSeconds=DAY, Catch=_caught(["States.ALL"]), End=True)
    machine = _machine(local, {"Ask": ask, **CAUGHT})
    sfn = local.client("stepfunctions")

    def rejected() -> Any:
        execution = _start(local, machine)
        [token] = _tokens(local, queue)
        sfn.send_task_failure(taskToken=token, error="Prescription.Rejected", cause="dose too high")
        return _error(_ended(local, execution))

    assert rejected() == {"Error": "Prescription.Rejected", "Cause": "dose too high"}
    with moto_own("stepfunctions.StepFunctionResponse.send_task_failure"):
        assert rejected() == {"Error": "Prescription.Rejected", "Cause": None}, "moto dropped the cause"


# --- 4. A token that is unknown, used, timed out, or of a finished execution ---------------------


@pins("stepfunctions.CallbackEndpoint.notify", "stepfunctions.CallbackEndpoint.notify_heartbeat")
def test_a_used_token_is_refused_while_its_execution_runs(local: LocalCloud) -> None:
    queue = _queue(local)
    # Two questions in a row: the execution still runs when the first is answered
    states = {"Ask": _ask_by_sqs(queue, Next="Again"), "Again": _ask_by_sqs(queue, End=True)}
    execution = _start(local, _machine(local, states))
    sfn = local.client("stepfunctions")
    [first] = _tokens(local, queue)
    sfn.send_task_heartbeat(taskToken=first)  # an open task without HeartbeatSeconds takes one
    sfn.send_task_success(taskToken=first, output='{"n": 1}')
    [second] = _tokens(local, queue)
    # AWS's API reference: TaskTimedOut, "the task associated with the token has already been closed"
    assert _refusal(sfn.send_task_success, taskToken=first, output='{"n": 2}') == "TaskTimedOut"
    assert _refusal(sfn.send_task_failure, taskToken=first, error="Late") == "TaskTimedOut"
    assert _refusal(sfn.send_task_heartbeat, taskToken=first) == "TaskTimedOut"
    sfn.send_task_success(taskToken=second, output='{"n": 3}')
    assert json.loads(_ended(local, execution)["output"]) == {"n": 3}
    with moto_own(
        "stepfunctions.CallbackEndpoint.notify",
        "stepfunctions.CallbackEndpoint.notify_heartbeat",
        "stepfunctions.StepFunctionResponse.send_task_success",
        "stepfunctions.StepFunctionResponse.send_task_heartbeat",
    ):
        again = _start(local, _machine(local, states))
        [first] = _tokens(local, queue)
        assert _refusal(sfn.send_task_heartbeat, taskToken=first) == "InvalidToken", "moto: no HeartbeatSeconds"
        sfn.send_task_success(taskToken=first, output='{"n": 1}')
        _tokens(local, queue)
        sfn.send_task_success(taskToken=first, output='{"n": 2}')  # moto took it, and lost it
        sfn.stop_execution(executionArn=again)


@pins("stepfunctions.StepFunctionResponse.send_task_success", "stepfunctions.StepFunctionResponse.send_task_heartbeat")
def test_tokens_of_a_finished_execution_are_timed_out_and_unknown_ones_invalid(local: LocalCloud) -> None:
    queue = _queue(local)
    execution = _start(local, _machine(local, {"Ask": _ask_by_sqs(queue, End=True)}))
    sfn = local.client("stepfunctions")
    [token] = _tokens(local, queue)
    sfn.send_task_success(taskToken=token, output="{}")
    assert _ended(local, execution)["status"] == "SUCCEEDED"
    assert _refusal(sfn.send_task_success, taskToken=token, output="{}") == "TaskTimedOut"
    assert _refusal(sfn.send_task_heartbeat, taskToken=token) == "TaskTimedOut"
    assert _refusal(sfn.send_task_failure, taskToken=token, error="Late") == "TaskTimedOut"
    for call, extra in (
        (sfn.send_task_success, {"output": "{}"}),
        (sfn.send_task_failure, {}),
        (sfn.send_task_heartbeat, {}),
    ):
        assert _refusal(call, taskToken="not-a-token", **extra) == "InvalidToken"
    with moto_own(
        "stepfunctions.StepFunctionResponse.send_task_success", "stepfunctions.StepFunctionResponse.send_task_heartbeat"
    ):
        assert _refusal(sfn.send_task_success, taskToken=token, output="{}") == "InvalidToken"
        assert _refusal(sfn.send_task_heartbeat, taskToken=token) == "InvalidToken"


@pins("stepfunctions.Environment.set_error")
def test_a_stopped_execution_ends_aborted_and_its_token_is_timed_out(local: LocalCloud) -> None:
    # A cancelled saga stops its execution while it waits: ABORTED, and a late answer is refused
    queue = _queue(local)
    machine = _machine(local, {"Ask": _ask_by_sqs(queue, TimeoutSeconds=DAY, End=True)})
    sfn = local.client("stepfunctions")

    def stopped() -> tuple[str, str]:
        execution = _start(local, machine)
        [token] = _tokens(local, queue)
        sfn.stop_execution(executionArn=execution)
        return str(_ended(local, execution)["status"]), token

    status, token = stopped()
    assert status == "ABORTED"
    assert _refusal(sfn.send_task_success, taskToken=token, output="{}") == "TaskTimedOut"
    assert _refusal(sfn.send_task_failure, taskToken=token, error="Late") == "TaskTimedOut"
    assert _refusal(sfn.send_task_heartbeat, taskToken=token) == "TaskTimedOut"
    with moto_own("stepfunctions.Environment.set_error"):
        assert stopped()[0] == "FAILED", "moto: the waiting task's end overrode the stop"


@pins("stepfunctions.Environment.set_stop", "stepfunctions.EventManager.add_event")
def test_a_stop_records_no_failure_of_the_task_it_interrupted(local: LocalCloud) -> None:
    # Found on `saga local up`: a cancelled saga's status said "Verify Prescription aborted (States.Timeout)".
    # On AWS a stopped execution's history ends with ExecutionAborted; the waiting task did not time out.
    queue = _queue(local)
    machine = _machine(local, {"Ask": _ask_by_sqs(queue, TimeoutSeconds=DAY, End=True)})
    sfn = local.client("stepfunctions")

    def history_after_a_stop() -> list[str]:
        execution = _start(local, machine)
        _tokens(local, queue)
        sfn.stop_execution(executionArn=execution)
        _ended(local, execution)
        return [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]

    events = history_after_a_stop()
    assert events[-1] == "ExecutionAborted"
    assert "TaskTimedOut" not in events
    with moto_own("stepfunctions.Environment.set_stop", "stepfunctions.EventManager.add_event"):
        assert "TaskTimedOut" in history_after_a_stop(), "moto: the stop recorded as the task's timeout"


def test_an_execution_still_waiting_ends_with_its_cloud() -> None:
    # Found by a CI run: a saga still waiting for its pharmacist when its test's cloud stopped woke at its
    # deadline inside the next test's cloud, whose authoriser refused its Catch's invocations.
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    cloud = LocalCloud.start(time_scale=SCALE)
    try:
        queue = _queue(cloud)
        # 30 days: 26 s at this scale, longer than the 5 s the cloud waits for executions when it stops
        machine = _machine(cloud, {"Ask": _ask_by_sqs(queue, TimeoutSeconds=30 * DAY, End=True)})
        _start(cloud, machine)
        _tokens(cloud, queue)
        [execution] = stepfunctions_parser_backends[cloud.account][cloud.region]._get_executions()
    finally:
        cloud.stop()
    assert execution.status == "ABORTED"


# --- 5. Wait states on the time scale ----------------------------------------------------------


@pins("stepfunctions.WaitFunction._eval_body")
@pytest.mark.parametrize("how", ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"])
def test_a_day_long_wait_passes_on_the_time_scale(local: LocalCloud, how: str) -> None:
    tomorrow = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields: dict[str, dict[str, Any]] = {
        "Seconds": {"Seconds": DAY},
        "Timestamp": {"Timestamp": tomorrow},
        "SecondsPath": {"SecondsPath": "$.seconds"},
        "TimestampPath": {"TimestampPath": "$.until"},
    }
    machine = _machine(local, {"Wait": {"Type": "Wait", **fields[how], "End": True}}, start="Wait")
    described = _ended(local, _start(local, machine, {"seconds": DAY, "until": tomorrow}))
    assert described["status"] == "SUCCEEDED"


# --- 6. IAM: who may answer a task --------------------------------------------------------------


def _assumed_sfn(local: LocalCloud, name: str, actions: list[str]) -> Any:
    iam = local.client("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": local.account}, "Action": "sts:AssumeRole"}
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]
    if actions:
        grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(grant))
    credentials = local.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="tests")["Credentials"]
    return boto3.client(
        "stepfunctions",
        region_name=local.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_answering_a_task_needs_the_send_task_permissions(local: LocalCloud) -> None:
    queue = _queue(local)
    ask = _ask_by_sqs(queue, Catch=_caught(["States.ALL"]), End=True)
    execution = _start(local, _machine(local, {"Ask": ask, **CAUGHT}))
    [token] = _tokens(local, queue)
    stranger = _assumed_sfn(local, "stranger", ["states:DescribeExecution"])
    answers: list[tuple[Any, dict[str, str]]] = [
        (stranger.send_task_success, {"output": "{}"}),
        (stranger.send_task_failure, {}),
        (stranger.send_task_heartbeat, {}),
    ]
    for call, extra in answers:
        assert _refusal(call, taskToken=token, **extra) == "AccessDeniedException"
    refused = sorted({refusal.action for refusal in local.refusals()})
    assert refused == ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"]
    pharmacist = _assumed_sfn(local, "pharmacist", ["states:SendTaskHeartbeat", "states:SendTaskFailure"])
    pharmacist.send_task_heartbeat(taskToken=token)
    pharmacist.send_task_failure(taskToken=token, error="Prescription.Rejected", cause="x")
    assert _error(_ended(local, execution))["Error"] == "Prescription.Rejected"
