"""A request's parameters are untrusted: an extra ARN or a value that is no string chooses no resource.

IAM authorises an operation on the resource its resource type names (Service Authorization Reference,
"Actions, resources, and condition keys for ..." each service). The local cloud reads that resource from
the request; a caller writing the request must not choose, by adding a parameter or giving one a value
of another type, what the call is authorised on, nor make the authoriser fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.access.actions import Arns, Check, checks
from localcloud.access.enforcement import AUTHORIZER
from localcloud.access.principals import Principal
from localcloud.cloud import LocalCloud

if TYPE_CHECKING:
    from mypy_boto3_sts.type_defs import CredentialsTypeDef


@pytest.fixture
def local() -> Iterator[LocalCloud]:
    with LocalCloud.start() as cloud:
        yield cloud


def _document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _role(local: LocalCloud, name: str, grant: dict[str, Any]) -> tuple[str, CredentialsTypeDef]:
    """A role of the account allowed `grant` only, and the credentials of a session assumed through STS."""
    iam = local.client("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": local.account}, "Action": "sts:AssumeRole"}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_document([trust]))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="grant", PolicyDocument=_document([{"Effect": "Allow", **grant}]))
    credentials = local.client("sts").assume_role(RoleArn=role, RoleSessionName="tests")["Credentials"]
    return str(role), credentials


@pytest.mark.parametrize(
    ("service", "operation", "params", "action"),
    [
        # Step Functions: StopExecution's resource type is execution* (list_awsstepfunctions).
        ("stepfunctions", "StopExecution", {"executionArn": {"an": "object"}}, "states:StopExecution"),
        (
            "stepfunctions",
            "SendTaskSuccess",
            {"taskToken": "t", "stateMachineArn": ["x"]},
            "states:SendTaskSuccess",
        ),
        # DynamoDB Streams: DescribeStream names its stream by StreamArn (and so does the sibling mapper).
        ("dynamodbstreams", "DescribeStream", {"StreamArn": 12}, "dynamodb:DescribeStream"),
    ],
)
def test_a_parameter_that_is_no_string_is_refused_not_a_crash(
    local: LocalCloud, service: str, operation: str, params: dict[str, Any], action: str
) -> None:
    # Given a role allowed the action on every ARN of its service, but not on "*"
    role, _ = _role(local, "scoped", {"Action": action, "Resource": f"arn:aws:{action.split(':')[0]}:*"})
    # When a request names its resource with a value that is no string (botocore refuses it; a raw
    # HTTP caller of `saga local up` need not)
    found = checks(service, operation, params, Arns(local.account, local.region))
    # Then the authoriser refuses it (AWS refuses a malformed request whatever the policies say)
    assert all(AUTHORIZER.check(Principal.role(role, "tests"), check) is not None for check in found)
    assert found == [Check(action, "*")]


def test_publishing_to_a_topic_and_a_target_needs_a_grant_on_both(local: LocalCloud) -> None:
    sns = local.client("sns")
    allowed, other = (sns.create_topic(Name=name)["TopicArn"] for name in ("allowed", "other"))
    # Given a role allowed to publish to one topic only
    _, credentials = _role(local, "publisher", {"Action": "sns:Publish", "Resource": allowed})
    publisher = boto3.client(
        "sns",
        region_name=local.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    publisher.publish(TopicArn=allowed, Message="mine")
    # When it names that topic and another as the target of one Publish (both are Publish's parameters)
    with pytest.raises(ClientError) as refused:
        publisher.publish(TopicArn=allowed, TargetArn=other, Message="not mine")
    # Then it is refused as SNS refuses: AuthorizationError, on the other topic
    assert refused.value.response["Error"]["Code"] == "AuthorizationError"
    assert f"is not authorized to perform: sns:Publish on resource: {other}" in str(refused.value)


ARNS = Arns(account="123456789012", region="us-east-1")


def test_a_parameter_name_added_under_another_key_does_not_stand_in_for_the_one_read() -> None:
    # GetParameter names its parameter by Name (SSM API reference; moto's get_parameter reads it),
    # GetParameters by Names: the one read is checked, whatever else the request carries
    found = checks("ssm", "GetParameter", {"Name": "/secret/one", "Names": ["/granted"]}, ARNS)
    assert Check("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/secret/one") in found


def test_a_bus_added_under_another_key_does_not_stand_in_for_the_one_changed() -> None:
    # PutPermission names its bus by EventBusName (EventBridge API reference; moto's put_permission reads
    # it), DescribeEventBus and DeleteEventBus by Name: the bus changed is checked, not the other
    found = checks("events", "PutPermission", {"EventBusName": "orders", "Name": "granted"}, ARNS)
    assert found == [Check("events:PutPermission", "arn:aws:events:us-east-1:123456789012:event-bus/orders")]
