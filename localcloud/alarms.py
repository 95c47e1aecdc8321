"""CloudWatch alarms of the template, created in moto, and their actions when their state changes.

moto's CloudFormation skips `AWS::CloudWatch::Alarm`: the alarms did not exist locally, so
nothing showed whether they could notify anyone. Here they are created as the template
defines them (`aws cloudwatch describe-alarms` lists them, actions included). The local cloud
does not evaluate metrics: an alarm changes state when told to (`SetAlarmState`), and then runs
its actions as CloudWatch does (`DescribeAlarmHistory`, which moto lacks, lists both),
publishing to each SNS topic as `cloudwatch.amazonaws.com`
with the alarm as `aws:SourceArn`, which the topic's policy must allow (AWS knowledge center,
"Why didn't I receive an SNS notification for my CloudWatch alarm trigger?").
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import Alarm, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.core.utils import iso_8601_datetime_with_milliseconds, utcnow
from moto.sns.models import sns_backends

from localcloud.access.actions import Check
from localcloud.access.enforcement import AUTHORIZER
from localcloud.access.principals import Principal
from localcloud.patching import Kind, Patch

CLOUDWATCH = Principal.aws_service("cloudwatch.amazonaws.com")


@dataclass(frozen=True)
class ActionRun:
    alarm: str
    action: str
    state: str
    succeeded: bool
    detail: str
    """AWS's alarm-history summary: "Successfully executed action ..." or "Failed to execute action ..."."""


_runs: list[ActionRun] = []
_history: list[dict[str, Any]] = []
_runs_lock = threading.Lock()


def action_runs() -> list[ActionRun]:
    with _runs_lock:
        return list(_runs)


def reset() -> None:
    with _runs_lock:
        _runs.clear()
        _history.clear()


def _remember(alarm: Alarm, kind: str, summary: str, data: dict[str, Any]) -> None:
    """An item of the alarm's history, as DescribeAlarmHistory answers it."""
    with _runs_lock:
        _history.append(
            {
                "AlarmName": alarm.name,
                "AlarmType": "MetricAlarm",
                "Timestamp": utcnow(),
                "HistoryItemType": kind,
                "HistorySummary": summary,
                "HistoryData": json.dumps(data),
            }
        )


class AlarmResource:
    """`AWS::CloudWatch::Alarm` on a single metric (the template's alarms are; metric math is refused).

    A CloudFormation resource type as moto's are, added to moto's by `localcloud.patches.cloudformation`."""

    def __init__(self, alarm: Alarm) -> None:
        self.alarm = alarm

    def is_created(self) -> bool:
        return True

    @property
    def physical_resource_id(self) -> str:
        return str(self.alarm.name)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.alarm.alarm_arn)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> AlarmResource:
        properties = cloudformation_json["Properties"]
        if "Metrics" in properties:
            raise NotImplementedError("the local cloud creates alarms on one metric, not metric math")
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=properties.get("AlarmName") or resource_name,
            namespace=properties["Namespace"],
            metric_name=properties["MetricName"],
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties["Period"]),
            threshold=float(properties["Threshold"]),
            statistic=properties.get("Statistic"),
            extended_statistic=properties.get("ExtendedStatistic"),
            description=properties.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": str(d["Value"])} for d in properties.get("Dimensions", [])],
            alarm_actions=[str(a) for a in properties.get("AlarmActions", [])],
            ok_actions=[str(a) for a in properties.get("OKActions", [])],
            insufficient_data_actions=[str(a) for a in properties.get("InsufficientDataActions", [])],
            datapoints_to_alarm=properties.get("DatapointsToAlarm"),
            treat_missing_data=properties.get("TreatMissingData"),
            unit=properties.get("Unit"),
            actions_enabled=properties.get("ActionsEnabled", True),
        )
        return cls(alarm)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> AlarmResource:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


def _update_state_and_act(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
    previous = self.state_value
    _UPDATE_STATE.original(self, reason, reason_data, state_value)
    if state_value == previous:
        return
    _remember(
        self,
        "StateUpdate",
        f"Alarm updated from {previous} to {state_value}",
        {"oldState": {"stateValue": previous}, "newState": {"stateValue": state_value, "stateReason": reason}},
    )
    if not self.actions_enabled:
        return
    actions = {"ALARM": self.alarm_actions, "OK": self.ok_actions, "INSUFFICIENT_DATA": self.insufficient_data_actions}
    for action in actions.get(state_value, []):
        _run(self, action, previous)


def _run(alarm: Alarm, action: str, previous: str) -> None:
    parts = action.split(":")
    if len(parts) < 6 or parts[2] != "sns":
        _record(alarm, action, False, f"Failed to execute action {action}: only SNS actions run locally")
        return
    account, region = parts[4], parts[3]
    refusal = AUTHORIZER.check(CLOUDWATCH, Check.for_source("sns:Publish", action, alarm.alarm_arn))
    if refusal is not None:
        # As the alarm's history reports it on AWS.
        refused = f"Resource: {alarm.alarm_arn} is not authorized to perform: SNS:Publish on resource: {action}"
        detail = f'Failed to execute action {action}. Received error: "{refused}"'
        _record(alarm, action, False, detail)
        return
    try:
        sns_backends[account][region].publish(
            message=json.dumps(_notification(alarm, previous, account)),
            arn=action,
            subject=f'{alarm.state_value}: "{alarm.name}" in {region}',
        )
    except Exception as error:  # as CloudWatch: the action failed, the state change stands
        _record(alarm, action, False, f"Failed to execute action {action}. Received error: {error!r}")
        return
    _record(alarm, action, True, f"Successfully executed action {action}")


def _notification(alarm: Alarm, previous: str, account: str) -> dict[str, Any]:
    """The JSON message CloudWatch publishes for an alarm's state change."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmArn": alarm.alarm_arn,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": iso_8601_datetime_with_milliseconds(alarm.state_updated_timestamp),
        "Region": alarm.region_name,
        "OldStateValue": previous,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "Statistic": alarm.statistic,
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "Dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
        },
    }


def _record(alarm: Alarm, action: str, succeeded: bool, detail: str) -> None:
    with _runs_lock:
        _runs.append(ActionRun(str(alarm.name), action, str(alarm.state_value), succeeded, detail))
    _remember(alarm, "Action", detail, {"actionState": "Succeeded" if succeeded else "Failed", "action": action})


def _describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
    name, kind = self._get_param("AlarmName"), self._get_param("HistoryItemType")
    limit = int(self._get_param("MaxRecords") or 100)
    with _runs_lock:
        items = [
            h for h in _history if (not name or h["AlarmName"] == name) and (not kind or h["HistoryItemType"] == kind)
        ]
    newest_first = self._get_param("ScanBy") != "TimestampAscending"
    items = sorted(items, key=lambda h: h["Timestamp"], reverse=newest_first)[:limit]
    return ActionResult({"AlarmHistoryItems": [dict(h) for h in items]})


PATCHES = (
    _UPDATE_STATE := Patch(
        owner=Alarm,
        name="update_state",
        replacement=_update_state_and_act,
        kind=Kind.GAP,
        why="moto changes an alarm's state and runs none of its actions: nothing showed whether an "
        "alarm could notify anyone. Its SNS actions run as CloudWatch runs them, as "
        "cloudwatch.amazonaws.com, refused where the topic's policy refuses it.",
    ),
    Patch(
        owner=CloudWatchResponse,
        name="describe_alarm_history",
        replacement=_describe_alarm_history,
        kind=Kind.GAP,
        why="moto does not implement DescribeAlarmHistory (HTTP 500); the operations runbook "
        "(docs/operations.md) has operators read an alarm's state changes and actions there.",
    ),
)
