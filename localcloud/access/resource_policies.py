"""The template's policy resources, which moto's CloudFormation skips: queue, topic and bus policies.

Each is created by attaching its document to the resource it names, where the resource's own
API shows it (`GetQueueAttributes Policy`, `GetTopicAttributes Policy`, `DescribeEventBus
Policy`) and where `enforcement` reads it when it authorises a call on that resource. The types
are added to moto's CloudFormation by `localcloud.patches.cloudformation`.
"""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import EventBusPolicyStatement, events_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends


class _PolicyResource:
    """A policy attached by CloudFormation: each type attaches its properties' document to the
    resources they name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def is_created(self) -> bool:
        return True

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @staticmethod
    def attach(properties: dict[str, Any], account_id: str, region_name: str) -> None:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _PolicyResource:
        cls.attach(cloudformation_json["Properties"], account_id, region_name)
        return cls(resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> _PolicyResource:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        return None


class QueuePolicy(_PolicyResource):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @staticmethod
    def attach(properties: dict[str, Any], account_id: str, region_name: str) -> None:
        document = json.dumps(properties["PolicyDocument"])
        backend = sqs_backends[account_id][region_name]
        for url in properties["Queues"]:
            backend.get_queue(str(url).rstrip("/").rsplit("/", 1)[1]).policy = document


class TopicPolicy(_PolicyResource):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @staticmethod
    def attach(properties: dict[str, Any], account_id: str, region_name: str) -> None:
        document = json.dumps(properties["PolicyDocument"])
        backend = sns_backends[account_id][region_name]
        for arn in properties["Topics"]:
            # The topic's policy replaces SNS's default one, as on AWS.
            backend.get_topic(str(arn)).policy = document


class EventBusPolicy(_PolicyResource):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::EventBusPolicy"

    @staticmethod
    def attach(properties: dict[str, Any], account_id: str, region_name: str) -> None:
        statement_id = str(properties["StatementId"])
        if "Statement" not in properties:
            raise NotImplementedError(
                "the local cloud reads an EventBusPolicy's Statement, not its older Action/Principal/Condition form"
            )
        bus = events_backends[account_id][region_name].describe_event_bus(properties.get("EventBusName") or "default")
        statement = {"Sid": statement_id, **properties["Statement"]}
        bus._statements[statement_id] = EventBusPolicyStatement.from_dict(statement)


POLICY_RESOURCES = (QueuePolicy, TopicPolicy, EventBusPolicy)
