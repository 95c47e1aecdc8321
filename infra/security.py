"""The customer-managed KMS key that encrypts every table, queue, topic and log group."""

from __future__ import annotations

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
