"""What AWS services deliver on the account's behalf, authorised as they are on AWS.

moto hands an EventBridge rule's event, or an SNS notification, straight to the target
queue. On AWS, EventBridge sends to a queue as `events.amazonaws.com` for the rule (the
queue's policy must allow `sqs:SendMessage` with the rule as `aws:SourceArn`), and SNS as
`sns.amazonaws.com` for the topic. Here each delivery is checked the same way:

- EventBridge: a target its queue's policy does not allow is not retried (EventBridge user
  guide, "Event retry policy and using dead-letter queues": permission errors are not);
  the event goes to the target's dead-letter queue, with AWS's ERROR_CODE and ERROR_MESSAGE
  attributes, if that queue's policy allows it, and is recorded as undelivered otherwise;
- SNS: a subscription its queue's policy does not allow gets nothing; recorded as undelivered.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from moto.events.models import Rule
from moto.sns.models import Subscription
from moto.sqs.models import sqs_backends

from localcloud.access.actions import Check
from localcloud.access.enforcement import AUTHORIZER
from localcloud.access.principals import Principal
from localcloud.patching import Kind, Patch

EVENTS = Principal.aws_service("events.amazonaws.com")
SNS = Principal.aws_service("sns.amazonaws.com")


@dataclass(frozen=True)
class Undelivered:
    source: str
    """The rule or topic that sent it."""
    target: str
    reason: str
    dead_lettered: bool


_undelivered: list[Undelivered] = []
_lock = threading.Lock()


def undelivered() -> list[Undelivered]:
    with _lock:
        return list(_undelivered)


def reset() -> None:
    with _lock:
        _undelivered.clear()


def _record(entry: Undelivered) -> None:
    with _lock:
        _undelivered.append(entry)


def _allowed(principal: Principal, queue_arn: str, source_arn: str) -> str | None:
    """None when `principal` may send to the queue for `source_arn`, else the refusal's message."""
    refusal = AUTHORIZER.check(principal, Check.for_source("sqs:SendMessage", queue_arn, source_arn))
    return None if refusal is None else refusal.message


def _send_to_sqs_as_eventbridge(
    self: Rule, resource_id: str, event: dict[str, Any], group_id: str | None = None
) -> None:
    queue_arn = f"arn:aws:sqs:{self.region_name}:{self.account_id}:{resource_id}"
    refused = _allowed(EVENTS, queue_arn, self.arn)
    if refused is None:
        _SEND_TO_SQS.original(self, resource_id, event, group_id)
        return
    target = next((t for t in self.targets if str(t.get("Arn", "")).endswith(f":{resource_id}")), {})
    dead_letters = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letters and _allowed(EVENTS, dead_letters, self.arn) is None:
        _, _, _, region, account, name = dead_letters.split(":")
        sqs_backends[account][region].send_message(
            name,
            json.dumps(event, default=str),
            message_attributes={
                "RULE_ARN": {"DataType": "String", "StringValue": self.arn},
                "TARGET_ARN": {"DataType": "String", "StringValue": queue_arn},
                "ERROR_CODE": {"DataType": "String", "StringValue": "NO_PERMISSIONS"},
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": refused},
            },
        )
        _record(Undelivered(self.arn, queue_arn, refused, dead_lettered=True))
        return
    _record(Undelivered(self.arn, queue_arn, refused, dead_lettered=False))


def _publish_as_sns(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    if self.protocol == "sqs":
        refused = _allowed(SNS, str(self.endpoint), str(self.topic.arn))
        if refused is not None:
            _record(Undelivered(str(self.topic.arn), str(self.endpoint), refused, dead_lettered=False))
            return
    _PUBLISH.original(self, message, message_id, *args, **kwargs)


PATCHES = (
    _SEND_TO_SQS := Patch(
        owner=Rule,
        name="_send_to_sqs_queue",
        replacement=_send_to_sqs_as_eventbridge,
        kind=Kind.GAP,
        why="moto hands a rule's event straight to the target queue; EventBridge sends it as "
        "events.amazonaws.com for the rule, which the queue's policy must allow (else the "
        "target's dead-letter queue gets it, or nobody).",
    ),
    _PUBLISH := Patch(
        owner=Subscription,
        name="publish",
        replacement=_publish_as_sns,
        kind=Kind.GAP,
        why="moto hands a notification straight to a subscribed queue; SNS sends it as "
        "sns.amazonaws.com for the topic, which the queue's policy must allow.",
    ),
)
