"""The dead-letter queue redrive the README tells operators to use: `aws sqs start-message-move-task`.

SQS API reference, StartMessageMoveTask: the source must be another queue's dead-letter queue;
without a destination, messages go back to the queue they came from; the caller needs to
receive and delete on the source and send on the destination.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from harness.inprocess import InProcess
from infra import names
from tests.access import assumed_client


def _arn(cloud: InProcess, url: str) -> str:
    attributes = cloud.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def _bodies(cloud: InProcess, url: str) -> list[str]:
    sqs, found = cloud.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        found += [m["Body"] for m in messages]
    return sorted(found)


def test_a_move_task_sends_each_dead_letter_back_once_to_the_queue_it_came_from(cloud: InProcess) -> None:
    sqs = cloud.client("sqs")
    dead = next(u for u in sqs.list_queues()["QueueUrls"] if "DomainEventsDeadLetterQueue" in u)
    for number in range(3):
        sqs.send_message(QueueUrl=dead, MessageBody=json.dumps({"n": number}))
    # When the dead-letter queue is redriven without a destination
    handle = sqs.start_message_move_task(SourceArn=_arn(cloud, dead))["TaskHandle"]
    # Then its messages are in the queue it serves, once each, and it is empty
    assert _bodies(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE]) == [json.dumps({"n": n}) for n in range(3)]
    assert _bodies(cloud, dead) == []
    [task] = sqs.list_message_move_tasks(SourceArn=_arn(cloud, dead))["Results"]
    assert (task["TaskHandle"], task["Status"], task["ApproximateNumberOfMessagesMoved"]) == (handle, "COMPLETED", 3)


def test_a_queue_that_is_no_dead_letter_queue_is_refused_as_a_source(cloud: InProcess) -> None:
    with pytest.raises(ClientError) as refused:
        cloud.client("sqs").start_message_move_task(SourceArn=_arn(cloud, cloud.outputs[names.OUTPUT_START_QUEUE]))
    assert "must be configured as a Dead Letter Queue" in str(refused.value)


@pytest.mark.allow_refusals
def test_a_caller_that_may_not_delete_from_the_source_moves_nothing(cloud: InProcess) -> None:
    sqs = cloud.client("sqs")
    dead, start = cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE], cloud.outputs[names.OUTPUT_START_QUEUE]
    sqs.send_message(QueueUrl=dead, MessageBody="{}")
    allowed = ["sqs:StartMessageMoveTask", "sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"]
    redriver = assumed_client(cloud, "sqs", "half-redriver", [{"Effect": "Allow", "Action": allowed, "Resource": "*"}])
    with pytest.raises(ClientError) as refused:
        redriver.start_message_move_task(SourceArn=_arn(cloud, dead), DestinationArn=_arn(cloud, start))
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "sqs:DeleteMessage" in str(refused.value)
    assert _bodies(cloud, dead) == ["{}"], "nothing moved"
