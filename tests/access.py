"""Test helpers for access: a role of the account assumed through STS, and a queue a service may send to."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3

from harness.inprocess import InProcess

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def assumed_client(cloud: InProcess, service: str, role_name: str, statements: list[dict[str, Any]]) -> Any:
    """A `service` client with the credentials of a new role of the account (its policy: `statements`),
    assumed through STS as its trust policy allows."""
    iam = cloud.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": cloud.local.account}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    if statements:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_role_policy(RoleName=role_name, PolicyName="grants", PolicyDocument=document)
    credentials = cloud.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="tests")["Credentials"]
    # call-overload: a client of whichever service the caller names.
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=cloud.local.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def let_service_send(sqs: SQSClient, queue_url: str, service: str, source_arn: str) -> str:
    """Give the queue the policy AWS requires for `service` to send to it for `source_arn`; its ARN."""
    arn = str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sqs:SendMessage",
        "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    return arn
