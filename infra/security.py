"""The customer-managed KMS key that encrypts every table, queue, topic and log group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class DataKey(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Order fulfillment saga: encrypts prescriptions, events and logs (health data)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        region = Stack.of(self).region
        # CloudWatch Logs encrypts log groups with the key only when the key policy allows it.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{Aws.PARTITION}:logs:{region}:{Aws.ACCOUNT_ID}:*"
                    }
                },
            )
        )
        # EventBridge delivers to the encrypted queues, CloudWatch alarms to the encrypted topic.
        for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
            self.key.grant(iam.ServicePrincipal(service), "kms:GenerateDataKey", "kms:Decrypt")


XRAY_WRITE = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
"""What an active-tracing function or state machine sends to X-Ray (the API has no resource-level scope)."""


class ManagedRole(Construct):
    """A role whose every permission is in one customer-managed policy, and none inline.

    The role is handed to CDK without policy updates, so that CDK's own grants (X-Ray for tracing,
    an event source mapping's read of its queue or stream, a state machine's invocation of its
    tasks) cannot add an inline default policy: each of those is written into `policy` by the
    construct that needs it, where it can be read and is tested.
    """

    def __init__(self, scope: Construct, construct_id: str, *, service: str, description: str) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal(service), description=description)
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[role])
        self.role = role.without_policy_updates()

    def permit(self, actions: list[str], resources: list[str], conditions: Mapping[str, Any] | None = None) -> None:
        self.policy.add_statements(iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions))
