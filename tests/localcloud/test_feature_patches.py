"""The feature modules' patches of moto: still gaps in the pinned moto, and closed by the features.

Each test runs moto's own behaviour (`moto_own`) and the local cloud's side by side in a bare
mock. How the features behave on the deployed stack is tested beside them: test_access
(enforcement, deliveries), test_alarms, test_limits, test_move_tasks, test_transport.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import alarms, deliveries, patches, sqs_move_tasks
from localcloud.access import principals
from localcloud.access.enforcement import AUTHORIZER
from localcloud.access.principals import Principal
from localcloud.patches import BY_ID
from localcloud.patching import MISSING
from tests.localcloud.pins import moto_own, pins

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef
    from mypy_boto3_stepfunctions import SFNClient

REGION, ACCOUNT = "us-east-1", "123456789012"


@pytest.fixture
def aws() -> Iterator[None]:
    patches.apply_patches()
    AUTHORIZER.reset()
    alarms.reset()
    deliveries.reset()
    sqs_move_tasks.reset()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    AUTHORIZER.reset()


def _bare_role(trusted: dict[str, Any]) -> str:
    """A role with no permissions at all, that `trusted` may assume."""
    statement = {"Effect": "Allow", "Principal": trusted, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    role = boto3.client("iam", region_name=REGION).create_role(RoleName="bare", AssumeRolePolicyDocument=trust)
    return str(role["Role"]["Arn"])


# --- access/enforcement ----------------------------------------------------------------------


@pins("core.BaseResponse._authenticate_and_authorize_normal_action")
def test_moto_still_authorises_nothing_and_enforcement_refuses_what_iam_refuses(aws: None) -> None:
    role = _bare_role({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    credentials = boto3.client("sts", region_name=REGION).assume_role(RoleArn=role, RoleSessionName="bare")[
        "Credentials"
    ]
    sqs = boto3.client(
        "sqs",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    with moto_own("core.BaseResponse._authenticate_and_authorize_normal_action"):
        assert "QueueUrls" not in sqs.list_queues(), "moto lets a role with no permissions list queues"
    with pytest.raises(ClientError) as refused:
        sqs.list_queues()
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def _run(sfn: SFNClient, machine: str, name: str) -> str:
    execution = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
    for _ in range(500):
        status = str(sfn.describe_execution(executionArn=execution)["status"])
        if status != "RUNNING":
            return status
        time.sleep(0.01)
    raise AssertionError(f"{name} still running")


@pins("stepfunctions.ExecutionWorker._execution_logic")
def test_moto_executions_still_call_aws_as_their_starter_and_enforcement_as_their_role(aws: None) -> None:
    role = _bare_role({"Service": "states.amazonaws.com"})
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:listQueues", "End": True}
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.dumps({"StartAt": "List", "States": {"List": task}})
    machine = sfn.create_state_machine(name="m", definition=definition, roleArn=role)["stateMachineArn"]
    with moto_own("stepfunctions.ExecutionWorker._execution_logic"):
        assert _run(sfn, machine, "as-the-starter") == "SUCCEEDED", "moto's task called as the account"
    assert _run(sfn, machine, "as-its-role") == "FAILED", "the role may not list queues"
    assert [r.action for r in AUTHORIZER.refused] == ["sqs:ListQueues"]


@pins("core.Thread.start", "core.Thread._bootstrap_inner", "core.ThreadPoolExecutor.submit")
def test_python_still_starts_a_thread_without_its_creators_caller_and_enforcement_hands_it_on() -> None:
    caller = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/handler", session="handler")

    def on_a_thread() -> Principal | None:
        seen: list[Principal | None] = []
        thread = threading.Thread(target=lambda: seen.append(principals.current()))
        thread.start()
        thread.join()
        return seen[0]

    def in_a_pool(pool: ThreadPoolExecutor) -> Principal | None:
        return pool.submit(principals.current).result()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(principals.current).result()  # its worker made outside any caller
        with principals.acting_as(caller):
            with moto_own("core.Thread.start", "core.Thread._bootstrap_inner", "core.ThreadPoolExecutor.submit"):
                assert on_a_thread() is None, "a new thread starts with an empty context"
                assert in_a_pool(pool) is None, "a worker serves every submitter with its own context"
            assert on_a_thread() == caller
            assert in_a_pool(pool) == caller


# --- deliveries ------------------------------------------------------------------------------


@pins("events.Rule._send_to_sqs_queue", "sns.Subscription.publish")
def test_moto_still_delivers_to_a_queue_whose_policy_refuses_it_and_deliveries_do_not(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName="no-policy")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-policy"
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["tests"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": queue_arn}])
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def send() -> int:
        events.put_events(Entries=[{"Source": "tests", "DetailType": "d", "Detail": "{}"}])
        sns.publish(TopicArn=topic, Message="m")
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return len(received)

    with moto_own("events.Rule._send_to_sqs_queue", "sns.Subscription.publish"):
        assert send() == 2, "moto delivered both, though the queue's policy allows neither service"
    assert send() == 0
    assert {(u.source, u.dead_lettered) for u in deliveries.undelivered()} == {
        (f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r", False),
        (topic, False),
    }


# --- limits ----------------------------------------------------------------------------------


@pins("events.EventsHandler.put_events")
def test_moto_still_puts_a_malformed_or_aws_sourced_event_and_limits_refuse_it(aws: None) -> None:
    events = boto3.client("events", region_name=REGION)
    entries: list[PutEventsRequestEntryTypeDef] = [
        {"Source": "tests", "DetailType": "d", "Detail": "42"},
        {"Source": "aws.states", "DetailType": "d", "Detail": "{}"},
    ]
    with moto_own("events.EventsHandler.put_events"), pytest.warns(UserWarning, match="types such as"):
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    codes = [e.get("ErrorCode") for e in events.put_events(Entries=entries)["Entries"]]
    assert codes == ["MalformedDetail", "NotAuthorizedForSourceException"]


@pins("sqs.SQSBackend.send_message", "sqs.SQSBackend.send_message_batch")
def test_moto_still_counts_a_message_in_characters_and_limits_count_its_bytes(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    body = "é" * (600 * 1024)  # 600 Ki characters, 1.2 MiB of UTF-8
    batch: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": str(n), "MessageBody": "é" * (200 * 1024)} for n in range(3)
    ]
    with moto_own("sqs.SQSBackend.send_message", "sqs.SQSBackend.send_message_batch"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        assert not sqs.send_message_batch(QueueUrl=url, Entries=batch).get("Failed")
    with pytest.raises(ClientError, match="Message must be shorter than 1048576 bytes"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    with pytest.raises(ClientError, match="BatchRequestTooLong"):
        sqs.send_message_batch(QueueUrl=url, Entries=batch)


@pins("stepfunctions.StepFunctionsParserBackend.start_execution")
def test_moto_still_starts_an_execution_of_any_name_and_limits_refuse_what_aws_refuses(aws: None) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(name="m", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/r")
    with moto_own("stepfunctions.StepFunctionsParserBackend.start_execution"):
        sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="has space")
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="has space too")
    assert refused.value.response["Error"]["Code"] == "InvalidName"


# --- alarms ----------------------------------------------------------------------------------


@pins("cloudwatch.Alarm.update_state", "cloudwatch.CloudWatchResponse.describe_alarm_history")
def test_moto_alarms_still_run_no_action_nor_keep_a_history_and_alarms_do(aws: None) -> None:
    assert "publish" not in inspect.getsource(BY_ID["cloudwatch.Alarm.update_state"].original)
    assert BY_ID["cloudwatch.CloudWatchResponse.describe_alarm_history"].found is MISSING
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="pager")["TopicArn"]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName="a",
        Namespace="tests",
        MetricName="m",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        Period=60,
        Threshold=1.0,
        Statistic="Sum",
        AlarmActions=[topic],
    )
    with moto_own("cloudwatch.Alarm.update_state"):
        cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="moto's")
    assert alarms.action_runs() == []
    cloudwatch.set_alarm_state(AlarmName="a", StateValue="OK", StateReason="ours")
    cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="ours")
    [run] = alarms.action_runs()
    assert (run.action, run.state) == (topic, "ALARM")
    kinds = [h["HistoryItemType"] for h in cloudwatch.describe_alarm_history(AlarmName="a")["AlarmHistoryItems"]]
    assert sorted(kinds) == ["Action", "StateUpdate", "StateUpdate"]


# --- sqs_move_tasks --------------------------------------------------------------------------


@pins("sqs.SQSResponse.start_message_move_task", "sqs.SQSResponse.list_message_move_tasks")
@pins("sqs.SQSResponse.cancel_message_move_task")
def test_moto_still_has_no_message_move_tasks_and_the_local_cloud_runs_them(aws: None) -> None:
    for action in ("start_message_move_task", "list_message_move_tasks", "cancel_message_move_task"):
        assert BY_ID[f"sqs.SQSResponse.{action}"].found is MISSING, f"moto implements {action} now"
    sqs = boto3.client("sqs", region_name=REGION)
    dead_letters = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    sqs.send_message(QueueUrl=dead_letters, MessageBody="failed once")
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert (task["TaskHandle"], task["Status"], task["ApproximateNumberOfMessagesMoved"]) == (handle, "COMPLETED", 1)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=source)["Messages"]] == ["failed once"]
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        sqs.cancel_message_move_task(TaskHandle=handle)
