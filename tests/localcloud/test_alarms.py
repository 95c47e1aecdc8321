"""The template's alarms exist locally with their actions, and notify through the topic its policy lets them.

AWS knowledge center, "Why didn't I receive an SNS notification for my CloudWatch alarm trigger?":
CloudWatch publishes as cloudwatch.amazonaws.com, which the topic's policy must allow.
"""

from __future__ import annotations

import json

import pytest

from harness.inprocess import InProcess
from infra import names
from tests.access import let_service_send
from tests.localcloud.test_access import _by_service, _without_statements


def _alarm_topic_subscriber(cloud: InProcess) -> str:
    """A queue subscribed to the alarm topic, whose policy lets the topic send to it."""
    sqs, sns = cloud.client("sqs"), cloud.client("sns")
    topic = cloud.outputs[names.OUTPUT_ALARM_TOPIC]
    url = sqs.create_queue(QueueName="pager")["QueueUrl"]
    arn = let_service_send(sqs, url, "sns.amazonaws.com", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return str(url)


def test_the_alarms_exist_with_their_actions_and_notify_through_the_topic(cloud: InProcess) -> None:
    cloudwatch = cloud.client("cloudwatch")
    alarms = {a["AlarmName"].split("-")[1]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    topic = cloud.outputs[names.OUTPUT_ALARM_TOPIC]
    assert {"MonitoringCompensationFailedFCA24A02", "MonitoringPublisherGaveUp404947CE"} <= set(alarms)
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())
    pager = _alarm_topic_subscriber(cloud)
    # When an alarm goes off
    name = alarms["MonitoringCompensationFailedFCA24A02"]["AlarmName"]
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="a saga is parked")
    # Then CloudWatch publishes it to the topic, which delivers it to the subscriber
    [run] = cloud.local.alarm_actions()
    assert run.succeeded, run.detail
    [message] = cloud.client("sqs").receive_message(QueueUrl=pager)["Messages"]
    notification = json.loads(json.loads(message["Body"])["Message"])
    assert (notification["AlarmName"], notification["NewStateValue"]) == (name, "ALARM")


@pytest.mark.allow_refusals
def test_an_alarm_whose_topic_policy_does_not_allow_cloudwatch_notifies_no_one(cloud: InProcess) -> None:
    # Given the topic policy as enforce_ssl alone wrote it: a Deny, and nothing that lets CloudWatch publish
    sns = cloud.client("sns")
    topic = cloud.outputs[names.OUTPUT_ALARM_TOPIC]
    policy = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue=_without_statements(policy, _by_service("cloudwatch.amazonaws.com")),
    )
    pager = _alarm_topic_subscriber(cloud)
    cloudwatch = cloud.client("cloudwatch")
    name = next(
        a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"] if "CompensationFailed" in a["AlarmName"]
    )
    # When the alarm goes off
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="a saga is parked")
    # Then the action fails as the alarm's history shows it on AWS, and nobody is paged
    [run] = cloud.local.alarm_actions()
    assert not run.succeeded
    assert f"is not authorized to perform: SNS:Publish on resource: {topic}" in run.detail
    history = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == [run.detail]
    [update] = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert update["HistorySummary"] == "Alarm updated from OK to ALARM"
    assert "Messages" not in cloud.client("sqs").receive_message(QueueUrl=pager)
