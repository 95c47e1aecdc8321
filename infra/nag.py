"""Acknowledged cdk-nag findings: each one names the construct it concerns and why it is accepted.

AwsSolutionsChecks and HIPAASecurityChecks run on every synth (app.py); a finding that is
not acknowledged here fails the synth, and with it `make test`.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept `rule` for `scope` and everything below it, for `reason`."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


RUNTIME_CHOSEN = (
    "Python 3.13 on arm64 is the runtime the design fixes and the Lambda bundle is built for "
    "(requirements/lambda.txt); moving to a newer runtime is a deliberate, tested change."
)
SYNCHRONOUS_ONLY = (
    "Invoked only synchronously (by Step Functions, or by an SQS/DynamoDB-stream event source "
    "mapping): failures return to the caller's Retry/Catch, the start queue's DLQ or the stream's "
    "retry with bisection. An on-failure DLQ for asynchronous invocations would never receive anything."
)
NO_VPC = (
    "The function reaches only regional AWS APIs (DynamoDB, Step Functions, EventBridge, SSM) over "
    "TLS with IAM authorisation and a customer-managed KMS key; it has no network resource to reach "
    "inside a VPC, and a VPC would add NAT or endpoint cost without narrowing that path."
)
CONCURRENCY = (
    "Concurrency is bounded upstream: the start queue's batches, Step Functions' task pacing and the "
    "stream shard's one batch at a time. Reserving concurrency per function would take capacity from "
    "the account pool that other workloads share."
)
XRAY = (
    "X-Ray PutTraceSegments/PutTelemetryRecords (and, for a state machine, the sampling rule reads), "
    "and DynamoDB ListStreams (which a stream's event source mapping calls), support no resource-level "
    "permissions, so their resource must be '*'."
)
LOG_DELIVERY = (
    "Step Functions sets up its log delivery with CloudWatch Logs' log-delivery and resource-policy "
    "APIs, which support no resource-level permissions, so their resource must be '*'."
)
LOG_STREAMS = "The ':*' suffix names the log streams of this function's own log group, created per container."
TASK_TOKENS = (
    "states:SendTaskSuccess and states:SendTaskFailure have no resource-level permissions (Service Authorization "
    "Reference for AWS Step Functions): only '*' grants them; the task token, kept inside the stack, names the task."
)
SAGA_EXECUTIONS = (
    "The ':*' suffix names the executions of the saga's own state machine: a cancellation stops the order's "
    "execution, named after the order id."
)
FUNCTION_VERSIONS = "The ':*' suffix names the versions and aliases of this one function, which the task invokes."
STEP_FUNCTIONS_LOG_LEVEL = (
    "Execution logging is at ERROR without execution data on purpose: state inputs and outputs "
    "belong to health records, and logging ALL would copy them into CloudWatch Logs. Execution "
    "history, X-Ray and the event store give the full trace."
)
BUS_DEAD_LETTERS = (
    "This queue is the dead-letter queue of the two event buses (their DeadLetterConfig): it is itself "
    "where what EventBridge cannot encrypt or decrypt ends, and an alarm (DeadLetters3) watches its depth."
)
ON_FAILURE_DESTINATION = (
    "This queue is a stream event source mapping's on-failure destination: it is itself where the "
    "records of given-up batches end, and an alarm (ProjectorGaveUp, PublisherGaveUp) watches its depth."
)
BACKUP_BY_PITR = (
    "Point-in-time recovery (35 days, continuous) is on for this table; joining an AWS Backup plan "
    "is an account-level retention decision left to the operator's organisation."
)


def wildcard_finding(resource: IConstruct | None = None, suffix: str = ":*") -> str:
    """The IAM5 finding id for `<resource>.Arn<suffix>` (or for a bare `*` when `resource` is None)."""
    if resource is None:
        return "AwsSolutions-IAM5[Resource::*]"
    default_child = resource.node.default_child
    assert isinstance(default_child, cdk.CfnElement)
    stack = cdk.Stack.of(resource)
    logical_id = stack.resolve(stack.get_logical_id(default_child))
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>{suffix}]"
