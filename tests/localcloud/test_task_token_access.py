"""Who may answer a task token or stop an execution: the local cloud authorises them as IAM does.

What AWS checks, from the Service Authorization Reference, "Actions, resources, and condition keys
for AWS Step Functions" (docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html):
SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat have no resource type ("If there is no value
for this column, you must specify all resources ("*")"), so only a grant on `*` allows them, whichever
state machine issued the token; StopExecution's resource type is `execution*`
(arn:${Partition}:states:${Region}:${Account}:execution:${StateMachineName}:${ExecutionId}).

Each test deploys two tiny state machines into a bare local cloud and calls as a role of the account
assumed through STS, with the one grant under test.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.access.actions import Arns
from localcloud.cloud import LocalCloud

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

_PATIENCE = 20.0
Answer = Callable[[Any, str], Any]

ANSWERS: dict[str, Answer] = {
    "SendTaskSuccess": lambda sfn, token: sfn.send_task_success(taskToken=token, output='{"verified": true}'),
    "SendTaskFailure": lambda sfn, token: sfn.send_task_failure(taskToken=token, error="Rejected", cause="test"),
    "SendTaskHeartbeat": lambda sfn, token: sfn.send_task_heartbeat(taskToken=token),
}


@pytest.fixture
def local() -> Iterator[LocalCloud]:
    with LocalCloud.start(time_scale=1e-5) as cloud:
        yield cloud


# --- a tiny deployment and its callers ----------------------------------------------------------


class Waiting:
    """Two state machines whose one task sends its token to a queue and waits for the answer."""

    def __init__(self, local: LocalCloud) -> None:
        self.local = local
        self.sfn = local.client("stepfunctions")
        self.queue = local.client("sqs").create_queue(QueueName="tokens")["QueueUrl"]
        role = self._machine_role()
        ask = {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": self.queue, "MessageBody": {"token.$": "$$.Task.Token"}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": True,
        }
        definition = json.dumps({"StartAt": "Ask", "States": {"Ask": ask, "Caught": {"Type": "Pass", "End": True}}})
        self.machine, self.other = (
            str(self.sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"])
            for name in ("saga", "other")
        )

    def _machine_role(self) -> str:
        iam = self.local.client("iam")
        trust = {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        role = iam.create_role(RoleName="machine", AssumeRolePolicyDocument=_document([trust]))["Role"]["Arn"]
        grant = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
        iam.put_role_policy(RoleName="machine", PolicyName="ask", PolicyDocument=_document([grant]))
        return str(role)

    def start(self) -> tuple[str, str]:
        """A new execution of `machine`, waiting: its ARN and its task's token."""
        execution = str(
            self.sfn.start_execution(stateMachineArn=self.machine, name=f"e{time.monotonic_ns()}")["executionArn"]
        )
        sqs = self.local.client("sqs")
        deadline = time.monotonic() + _PATIENCE
        while time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=self.queue).get("Messages", []):
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
                return execution, str(json.loads(message["Body"])["token"])
            time.sleep(0.01)
        raise AssertionError("the execution sent no token")

    def status(self, execution: str) -> str:
        return str(self.sfn.describe_execution(executionArn=execution)["status"])

    def ended(self, execution: str) -> DescribeExecutionOutputTypeDef:
        deadline = time.monotonic() + _PATIENCE
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.01)
        raise AssertionError(f"still running after {_PATIENCE} s")

    def caller(self, role_name: str, action: str, resource: str) -> SFNClient:
        """A Step Functions client acting as a new role of the account allowed `action` on `resource` only."""
        iam = self.local.client("iam")
        trust = {"Effect": "Allow", "Principal": {"AWS": self.local.account}, "Action": "sts:AssumeRole"}
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_document([trust]))["Role"]
        grant = {"Effect": "Allow", "Action": action, "Resource": resource}
        iam.put_role_policy(RoleName=role_name, PolicyName="grant", PolicyDocument=_document([grant]))
        credentials = self.local.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="tests")["Credentials"]
        return boto3.client(
            "stepfunctions",
            region_name=self.local.region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def executions_of(self, machine: str) -> str:
        return machine.replace(":stateMachine:", ":execution:") + ":*"


def _document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _refused(call: Callable[[], Any], action: str) -> None:
    with pytest.raises(ClientError) as refused:
        call()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"is not authorized to perform: states:{action} on resource:" in str(refused.value)


def _with_extra_parameter(client: SFNClient, operation: str, name: str, value: str) -> SFNClient:
    """`client`, its `operation` requests carrying one more parameter (botocore refuses unknown ones:
    a raw HTTP caller, such as one of `saga local up`'s, is not stopped by it)."""

    def add(params: dict[str, Any], **_: Any) -> None:
        params["body"] = json.dumps({**json.loads(params["body"]), name: value}).encode()

    # Before the call, on the serialized request: the local cloud's in-process transport skips the signing events.
    client.meta.events.register(f"before-call.sfn.{operation}", add)
    return client


# --- SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat: only on "*" ---------------------------


@pytest.mark.parametrize("action", ANSWERS)
def test_answering_a_task_token_needs_a_grant_on_every_resource(local: LocalCloud, action: str) -> None:
    waiting = Waiting(local)
    execution, token = waiting.start()
    arns = Arns(local.account, local.region)
    wrong = [
        waiting.machine,  # the state machine that issued the token (what CDK's grantTaskResponse names)
        execution,  # the execution the token belongs to
        waiting.executions_of(waiting.machine),
        waiting.other,
        f"arn:aws:states:{arns.region}:{arns.account}:activity:*",
    ]
    # Given roles allowed the action on the token's own resources, each one of them
    for number, resource in enumerate(wrong):
        sfn = waiting.caller(f"wrong{number}", f"states:{action}", resource)
        # Then each is refused, and the task still waits
        _refused(functools.partial(ANSWERS[action], sfn, token), action)
        assert waiting.status(execution) == "RUNNING"
    # When a role allowed it on "*" answers, it is taken
    ANSWERS[action](waiting.caller("right", f"states:{action}", "*"), token)
    if action == "SendTaskHeartbeat":
        waiting.sfn.send_task_success(taskToken=token, output='{"verified": true}')
    described = waiting.ended(execution)
    assert described["status"] == "SUCCEEDED"
    caught = json.loads(described["output"]).get("error")
    assert (caught or {}).get("Error") == ("Rejected" if action == "SendTaskFailure" else None)


@pytest.mark.parametrize("action", ANSWERS)
def test_an_arn_added_to_an_answer_does_not_choose_what_it_is_authorised_on(local: LocalCloud, action: str) -> None:
    waiting = Waiting(local)
    execution, token = waiting.start()
    # Given a role allowed the action on the token's state machine only (which AWS does not honour)
    sfn = waiting.caller("machine-only", f"states:{action}", waiting.machine)
    # When it answers with that state machine's ARN added to the request
    _with_extra_parameter(sfn, action, "stateMachineArn", waiting.machine)
    # Then the answer is still checked on "*", refused, and the task still waits
    _refused(lambda: ANSWERS[action](sfn, token), action)
    assert waiting.status(execution) == "RUNNING"
    waiting.sfn.stop_execution(executionArn=execution)


# --- StopExecution: on the execution ------------------------------------------------------------


def test_stopping_an_execution_needs_a_grant_on_that_execution(local: LocalCloud) -> None:
    waiting = Waiting(local)
    execution, _ = waiting.start()
    wrong = [waiting.machine, waiting.executions_of(waiting.other), execution + "-another"]
    # Given roles allowed StopExecution on its state machine, on another machine's executions, on another execution
    for number, resource in enumerate(wrong):
        sfn = waiting.caller(f"wrong{number}", "states:StopExecution", resource)
        # Then each is refused, and the execution goes on
        _refused(functools.partial(sfn.stop_execution, executionArn=execution), "StopExecution")
        assert waiting.status(execution) == "RUNNING"
    # When roles allowed it on the execution, or on the executions of its state machine, stop one each
    second, _ = waiting.start()
    for name, (resource, stopped) in {
        "this-one": (execution, execution),
        "its-machines": (waiting.executions_of(waiting.machine), second),
    }.items():
        waiting.caller(name, "states:StopExecution", resource).stop_execution(executionArn=stopped)
        # Then it ends ABORTED
        assert waiting.ended(stopped)["status"] == "ABORTED"


def test_a_state_machine_arn_added_to_stop_execution_does_not_choose_what_it_is_authorised_on(
    local: LocalCloud,
) -> None:
    waiting = Waiting(local)
    execution, _ = waiting.start()
    # Given a role allowed StopExecution on the other state machine only
    sfn = waiting.caller("other-only", "states:StopExecution", waiting.other)
    # When it asks to stop this execution, the other state machine's ARN added to the request
    _with_extra_parameter(sfn, "StopExecution", "stateMachineArn", waiting.other)
    # Then it is checked on the execution, refused, and the execution goes on
    _refused(lambda: sfn.stop_execution(executionArn=execution), "StopExecution")
    assert waiting.status(execution) == "RUNNING"
    waiting.sfn.stop_execution(executionArn=execution)
