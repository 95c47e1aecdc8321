"""What IAM checks for an API call: the actions and the resource ARNs, per service.

Most operations are checked as `<prefix>:<Operation>` on the one resource they name. The
exceptions are AWS's, from the Service Authorization Reference and each service's guide:

- DynamoDB `TransactWriteItems` is checked item by item as the single-item action
  (`Put` -> `PutItem`, `Update` -> `UpdateItem`, `Delete` -> `DeleteItem`, `ConditionCheck`
  -> `ConditionCheckItem`) on that item's table, `TransactGetItems` as `GetItem` per item;
  `BatchGetItem` and `BatchWriteItem` are checked on each table they touch; a `Query` or
  `Scan` of an index on the index's ARN.
- SQS batch calls are checked as their single-message actions (`SendMessageBatch` ->
  `SendMessage`, ...).
- EventBridge `PutEvents` is checked per entry on the entry's bus, with the entry's
  `events:source` and `events:detail-type` as condition keys.
- Lambda `Invoke` is `lambda:InvokeFunction`.
- Step Functions checks each operation on the one parameter its resource type names
  (`StopExecution` on `executionArn`, `StartExecution` on `stateMachineArn`, ...); another
  ARN the request carries chooses nothing. `SendTaskSuccess`, `SendTaskFailure` and
  `SendTaskHeartbeat` have no resource type: they are checked on `*`, whichever execution the
  task token belongs to, so a grant on its state machine, execution or activity does not allow them.
- Secrets Manager is checked on the secret's complete ARN (its name, a hyphen and six random
  characters), whichever of its name, partial or complete ARN the call gives as `SecretId`:
  a policy naming the secret as `NAME-??????` matches it; one naming `NAME` alone does not.

An operation whose resource is not known here is checked on `*`: a role whose grants are
scoped to resources is then refused, which errs on AWS's stricter side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

IAM_PREFIX = {
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodb",
    "stepfunctions": "states",
    "events": "events",
    "sqs": "sqs",
    "sns": "sns",
    "ssm": "ssm",
    "awslambda": "lambda",
    "logs": "logs",
    "cloudwatch": "cloudwatch",
    "kms": "kms",
    "iam": "iam",
    "sts": "sts",
    "cloudformation": "cloudformation",
    "secretsmanager": "secretsmanager",
}
"""moto's service name -> the service prefix of its IAM actions."""


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_source(cls, action: str, resource: str, source_arn: str) -> Check:
        """A call an AWS service makes for one of the account's resources (a rule, a topic, an alarm):
        that resource is the request's aws:SourceArn, its account aws:SourceAccount."""
        return cls(action, resource, {"aws:SourceArn": source_arn, "aws:SourceAccount": source_arn.split(":")[4]})


@dataclass(frozen=True)
class Arns:
    """The ARNs of one account and region."""

    account: str
    region: str
    partition: str = "aws"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def table(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("dynamodb", f"table/{name}")

    def queue(self, name: str, owner: str | None = None) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{owner or self.account}:{name}"

    def queue_from_url(self, url: str) -> str:
        # https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (or the local endpoint's http://host:port/ACCOUNT/NAME)
        owner, name = url.rstrip("/").split("/")[-2:]
        return self.queue(name, owner if owner.isdigit() else None)

    def event_bus(self, name_or_arn: str) -> str:
        return name_or_arn if name_or_arn.startswith("arn:") else self._arn("events", f"event-bus/{name_or_arn}")

    def parameter(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("ssm", f"parameter/{name.lstrip('/')}")

    def function(self, name: str, qualifier: str | None = None) -> str:
        if name.startswith("arn:"):
            arn = name
        elif ":" in name:  # ACCOUNT:function:NAME, or NAME:QUALIFIER
            parts = name.split(":")
            arn = (
                self._arn("lambda", ":".join(parts[1:]))
                if parts[1] == "function"
                else self._arn("lambda", f"function:{name}")
            )
        else:
            arn = self._arn("lambda", f"function:{name}")
        return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn

    def topic(self, name: str) -> str:
        return self._arn("sns", name)

    def secret(self, name: str) -> str:
        return self._arn("secretsmanager", f"secret:{name}")

    def log_group(self, name: str, stream: str | None = None) -> str:
        group = self._arn("logs", f"log-group:{name}")
        return f"{group}:log-stream:{stream}" if stream else group


Params = Mapping[str, Any]
Mapper = Callable[[str, Params, Arns, str], list[Check]]


def _one(action: str, resource: object) -> list[Check]:
    # A request's parameter is untrusted: only a non-empty string names a resource. A number, list or
    # object is a malformed request, which AWS refuses anyway: checked on *, it fails no lookup here.
    return [Check(action, resource if isinstance(resource, str) and resource else "*")]


# --- DynamoDB ---------------------------------------------------------------------------

_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    if operation == "TransactWriteItems":
        return [
            Check(f"dynamodb:{_TRANSACT_WRITE.get(kind, kind)}", arns.table(body["TableName"]))
            for item in params.get("TransactItems", [])
            for kind, body in item.items()
        ]
    if operation == "TransactGetItems":
        return [
            Check("dynamodb:GetItem", arns.table(item["Get"]["TableName"])) for item in params.get("TransactItems", [])
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Check(f"dynamodb:{operation}", arns.table(name)) for name in params.get("RequestItems", {})]
    table = params.get("TableName")
    if table and operation in ("Query", "Scan") and params.get("IndexName"):
        return _one(f"dynamodb:{operation}", f"{arns.table(table)}/index/{params['IndexName']}")
    return _one(f"dynamodb:{operation}", arns.table(table) if table else None)


def _dynamodb_streams(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    if operation == "ListStreams":
        return _one("dynamodb:ListStreams", None)  # no resource-level permissions: checked on *
    return _one(f"dynamodb:{operation}", params.get("StreamArn"))


# --- Step Functions, EventBridge, SSM ----------------------------------------------------


_STATES_WITHOUT_RESOURCE = frozenset({"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"})
"""No resource type in the Service Authorization Reference ("Actions, resources, and condition keys
for AWS Step Functions"): only a grant on `*` allows them, whatever the task token belongs to."""

_STATES_RESOURCE = {
    "StopExecution": "executionArn",
    "RedriveExecution": "executionArn",
    "DescribeExecution": "executionArn",
    "DescribeStateMachineForExecution": "executionArn",
    "GetExecutionHistory": "executionArn",
    "StartExecution": "stateMachineArn",
    "StartSyncExecution": "stateMachineArn",
    "DescribeStateMachine": "stateMachineArn",
    "DeleteStateMachine": "stateMachineArn",
    "UpdateStateMachine": "stateMachineArn",
    "GetActivityTask": "activityArn",
    "DescribeActivity": "activityArn",
    "DeleteActivity": "activityArn",
}
"""Operation -> the parameter naming the resource it is authorised on (the same reference: execution*,
statemachine*, activity*)."""

_STATES_ARNS = ("stateMachineArn", "executionArn", "resourceArn", "activityArn", "mapRunArn")


def _states(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    action = f"states:{operation}"
    if operation in _STATES_WITHOUT_RESOURCE:
        return _one(action, None)
    if operation in _STATES_RESOURCE:
        return _one(action, params.get(_STATES_RESOURCE[operation]))
    # Any other operation is checked on every ARN it names: an extra parameter the caller adds (one
    # the service ignores) is one more check, never the resource it is authorised on instead.
    return [check for key in _STATES_ARNS if params.get(key) for check in _one(action, params[key])] or _one(
        action, None
    )


def _events(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    if operation == "PutEvents":
        return [
            Check(
                "events:PutEvents",
                arns.event_bus(entry.get("EventBusName") or "default"),
                {"events:source": str(entry.get("Source", "")), "events:detail-type": str(entry.get("DetailType", ""))},
            )
            for entry in params.get("Entries", [])
        ]
    if operation in _EVENT_BUS_PARAMETER:
        return _one(f"events:{operation}", arns.event_bus(params.get(_EVENT_BUS_PARAMETER[operation]) or "default"))
    return _one(f"events:{operation}", None)


_EVENT_BUS_PARAMETER = {
    "DescribeEventBus": "Name",
    "DeleteEventBus": "Name",
    "PutPermission": "EventBusName",
    "RemovePermission": "EventBusName",
}
"""The parameter each operation names its bus by (and moto reads): another one the caller adds chooses nothing."""


def _ssm(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    # Every parameter the request names, by Names, Name or Path: GetParameter reads Name, GetParameters
    # Names, so a granted name added under the other key must not stand in for the one read.
    named = [*(params.get("Names") or []), *(params[key] for key in ("Name", "Path") if params.get(key))]
    return [Check(f"ssm:{operation}", arns.parameter(name)) for name in named] or _one(f"ssm:{operation}", None)


# --- SQS, SNS, Lambda, CloudWatch Logs ---------------------------------------------------

_SQS_SINGLE = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    action = f"sqs:{_SQS_SINGLE.get(operation, operation)}"
    if params.get("QueueUrl"):
        return _one(action, arns.queue_from_url(str(params["QueueUrl"])))
    if params.get("QueueName") and operation in ("CreateQueue", "GetQueueUrl"):
        return _one(action, arns.queue(str(params["QueueName"]), params.get("QueueOwnerAWSAccountId")))
    if params.get("SourceArn"):
        return _one(action, str(params["SourceArn"]))
    return _one(action, None)


def _sns(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    # Publish takes TopicArn and TargetArn in one request (moto then publishes to the target): each
    # ARN the request names is checked, so a grant on one does not let it reach the other.
    named = [
        check
        for key in ("TopicArn", "TargetArn", "ResourceArn")
        if params.get(key)
        for check in _one(f"sns:{operation}", str(params[key]))
    ]
    if named:
        return named
    if params.get("SubscriptionArn"):
        return _one(f"sns:{operation}", str(params["SubscriptionArn"]).rsplit(":", 1)[0])
    if operation == "CreateTopic" and params.get("Name"):
        return _one("sns:CreateTopic", arns.topic(str(params["Name"])))
    return _one(f"sns:{operation}", None)


_LAMBDA_ACTIONS = {"Invoke": "InvokeFunction"}


def _lambda(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    action = f"lambda:{_LAMBDA_ACTIONS.get(operation, operation)}"
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[1] == "functions":
        return _one(action, arns.function(unquote(parts[2]), params.get("Qualifier")))
    return _one(action, None)


def _logs(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    group = params.get("logGroupName") or params.get("logGroupIdentifier")
    if group and str(group).startswith("arn:"):
        return _one(f"logs:{operation}", str(group))
    if group:
        return _one(f"logs:{operation}", arns.log_group(str(group), params.get("logStreamName")))
    return _one(f"logs:{operation}", None)


def _sts(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    if operation in ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML") and params.get("RoleArn"):
        return _one(f"sts:{operation}", str(params["RoleArn"]))
    return _one(f"sts:{operation}", None)


def _secret_arn(secret_id: str, arns: Arns) -> str:
    """The complete ARN of the secret `secret_id` names; for one that does not exist, the ARN it
    would have without the random suffix, which no `NAME-??????` grant matches (AWS then refuses)."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[arns.account][arns.region].secrets.get(secret_id)
    if secret is not None:
        return str(secret.arn)
    return secret_id if secret_id.startswith("arn:") else arns.secret(secret_id)


def _secretsmanager(operation: str, params: Params, arns: Arns, path: str) -> list[Check]:
    secret_id = params.get("SecretId")
    if isinstance(secret_id, str) and secret_id:
        return _one(f"secretsmanager:{operation}", _secret_arn(secret_id, arns))
    return _one(f"secretsmanager:{operation}", None)


_MAPPERS: dict[str, Mapper] = {
    "dynamodb": _dynamodb,
    "dynamodbstreams": _dynamodb_streams,
    "stepfunctions": _states,
    "events": _events,
    "ssm": _ssm,
    "sqs": _sqs,
    "sns": _sns,
    "awslambda": _lambda,
    "logs": _logs,
    "sts": _sts,
    "secretsmanager": _secretsmanager,
}


def checks(service: str, operation: str, params: Params, arns: Arns, path: str = "/") -> list[Check]:
    """The (action, resource) pairs IAM authorises for one call to `service`."""
    mapper = _MAPPERS.get(service)
    if mapper is None:
        return _one(f"{IAM_PREFIX.get(service, service)}:{operation}", None)
    try:
        return mapper(operation, params, arns, path)
    except (KeyError, TypeError, AttributeError, IndexError):
        # A malformed request: the service refuses it by its own validation, after authorisation.
        return _one(f"{IAM_PREFIX[service]}:{operation}", None)
