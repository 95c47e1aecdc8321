"""SQS message move tasks (the dead-letter queue redrive), which moto does not implement.

The operations runbook (docs/operations.md) tells operators to redrive the dead-letter queue with `aws sqs
start-message-move-task`, as on AWS (SQS API reference, StartMessageMoveTask): the source must
be the dead-letter queue of another queue; without a destination the messages go back to the
queue they came from. The caller needs what the move does: `sqs:StartMessageMoveTask`,
`sqs:ReceiveMessage`, `sqs:DeleteMessage` and `sqs:GetQueueAttributes` on the source and
`sqs:SendMessage` on the destination. Locally the task runs to completion before the call
returns (each message sent, then deleted: moved once, never lost), so it is COMPLETED when
listed, and there is nothing left to cancel.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.sqs.exceptions import InvalidParameterValue, QueueDoesNotExist
from moto.sqs.responses import SQSResponse

from localcloud.access import enforcement
from localcloud.access.actions import Check
from localcloud.patching import Kind, Patch

_tasks: list[dict[str, Any]] = []
_lock = threading.Lock()


def _queue(response: SQSResponse, arn: str) -> Any:
    queue = response.sqs_backend.queues.get(arn.rsplit(":", 1)[-1])
    if queue is None or queue.queue_arn != arn:
        raise QueueDoesNotExist()
    return queue


def _start_message_move_task(self: SQSResponse) -> ActionResult:
    source_arn = str(self._get_param("SourceArn"))
    source = _queue(self, source_arn)
    fed = [
        q for q in self.sqs_backend.queues.values() if (q.redrive_policy or {}).get("deadLetterTargetArn") == source_arn
    ]
    if not fed:
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    destination_arn = self._get_param("DestinationArn")
    if not destination_arn:
        if len(fed) > 1:
            raise InvalidParameterValue(
                "This dead-letter queue serves several queues: the local cloud needs a DestinationArn."
            )
        destination_arn = fed[0].queue_arn
    destination = _queue(self, str(destination_arn))
    principal = enforcement.caller(self)
    needed = [Check(f"sqs:{a}", source_arn) for a in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")]
    for check in [*needed, Check("sqs:SendMessage", destination.queue_arn)]:
        refusal = enforcement.AUTHORIZER.check(principal, check)
        if refusal is not None:
            raise enforcement.error_for("sqs", self, refusal)
    started = int(time.time() * 1000)
    with source._messages_lock:
        moving = list(source.messages)  # the visible ones, as AWS moves
    moved = 0
    for message in moving:
        self.sqs_backend.send_message(destination.name, message.body, message_attributes=message.message_attributes)
        with source._messages_lock:
            if message in source._messages:
                source._messages.remove(message)
        moved += 1
    handle = base64.b64encode(
        json.dumps({"taskId": f"{started}-{len(_tasks)}", "sourceArn": source_arn}).encode()
    ).decode()
    with _lock:
        _tasks.append(
            {
                "TaskHandle": handle,
                "Status": "COMPLETED",
                "SourceArn": source_arn,
                "DestinationArn": destination.queue_arn,
                "ApproximateNumberOfMessagesMoved": moved,
                "ApproximateNumberOfMessagesToMove": len(moving),
                "StartedTimestamp": started,
            }
        )
    return ActionResult({"TaskHandle": handle})


def _list_message_move_tasks(self: SQSResponse) -> ActionResult:
    source_arn = str(self._get_param("SourceArn"))
    _queue(self, source_arn)
    limit = int(self._get_param("MaxResults") or 1)
    with _lock:
        found = [dict(t) for t in reversed(_tasks) if t["SourceArn"] == source_arn][:limit]
    return ActionResult({"Results": found})


def _cancel_message_move_task(self: SQSResponse) -> ActionResult:
    raise JsonRESTError("ResourceNotFoundException", "The task has completed: there is no running task to cancel.")


def reset() -> None:
    with _lock:
        _tasks.clear()


_WHY = "moto does not implement {}: the runbook has operators redrive the dead-letter queue with it, as on AWS."

PATCHES = (
    Patch(
        owner=SQSResponse,
        name="start_message_move_task",
        replacement=_start_message_move_task,
        kind=Kind.GAP,
        why=_WHY.format("StartMessageMoveTask"),
    ),
    Patch(
        owner=SQSResponse,
        name="list_message_move_tasks",
        replacement=_list_message_move_tasks,
        kind=Kind.GAP,
        why=_WHY.format("ListMessageMoveTasks"),
    ),
    Patch(
        owner=SQSResponse,
        name="cancel_message_move_task",
        replacement=_cancel_message_move_task,
        kind=Kind.GAP,
        why=_WHY.format("CancelMessageMoveTask"),
    ),
)
