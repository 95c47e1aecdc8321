"""SQS: a queue's URL behind a local endpoint, and costs that grow with a queue's depth."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from moto.core.utils import unix_time_millis
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Queue, SQSBackend

from localcloud.patching import Kind, Patch

_endpoint_url: str | None = None


def set_endpoint(url: str | None) -> None:
    """The local endpoint clients reach (`saga local up`), or None for an in-process cloud."""
    global _endpoint_url
    _endpoint_url = url.rstrip("/") if url else None


def _queue_url(self: Queue) -> str:
    if _endpoint_url is None:
        return str(_PHYSICAL_RESOURCE_ID.original(self))
    return f"{_endpoint_url}/{self.account_id}/{self.name}"


def _retention_check(self: SQSBackend, queue_name: str, message: Any) -> bool:
    retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]  # moto sets it by setattr
    return bool(retention + message.sent_timestamp / 1000 > time.time())


def _visible_messages(self: Queue) -> list[Any]:
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _delete_message(self: Queue, receipt_handle: str) -> None:
    # As moto's Queue.delete_message (an unknown handle is refused, a deleted one is a no-op),
    # in one pass instead of two, and under the lock SendMessage appends with.
    if receipt_handle in self.deleted_messages:
        return
    with self._messages_lock:
        for index, message in enumerate(self._messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                self.pending_messages.discard(message)
                # arg-type: moto types all_receipt_handles as list[str | None]; a received message's are str.
                self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
                del self._messages[index]
                return
    raise ReceiptHandleIsInvalid()


_COUNTS = {
    "ApproximateNumberOfMessages": "approximate_number_of_messages",
    "ApproximateNumberOfMessagesDelayed": "approximate_number_of_messages_delayed",
    "ApproximateNumberOfMessagesNotVisible": "approximate_number_of_messages_not_visible",
}


class _LazyQueueAttributes(dict):  # type: ignore[type-arg]  # moto's Queue.attributes: a plain dict
    """Queue attributes whose message counts (a walk over every message) are computed when read."""

    def __init__(self, queue: Queue) -> None:
        super().__init__()
        self._queue = queue
        self._complete = False
        # As moto's Queue.attributes builds them, but for the counts.
        names = [n for n in Queue.BASE_ATTRIBUTES if n not in _COUNTS]
        if queue.fifo_queue:
            names += Queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:  # type: ignore[attr-defined]  # moto sets it by setattr
            names += Queue.KMS_ATTRIBUTES
        for name in names:
            dict.__setitem__(self, name, getattr(queue, _snake(name)))
        if queue.policy:
            dict.__setitem__(self, "Policy", queue.policy)
        if queue.redrive_policy:
            dict.__setitem__(self, "RedrivePolicy", json.dumps(queue.redrive_policy))
        for key, value in list(dict.items(self)):
            if isinstance(value, bool):
                dict.__setitem__(self, key, str(value).lower())

    def _ensure(self) -> None:
        if not self._complete:
            for name, attr in _COUNTS.items():
                dict.__setitem__(self, name, getattr(self._queue, attr))
            self._complete = True

    def __getitem__(self, key: str) -> Any:
        if key in _COUNTS:
            self._ensure()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in _COUNTS:
            self._ensure()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        return key in _COUNTS or dict.__contains__(self, key)

    def __iter__(self) -> Any:
        self._ensure()
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._ensure()
        return dict.keys(self)

    def items(self) -> Any:
        self._ensure()
        return dict.items(self)

    def values(self) -> Any:
        self._ensure()
        return dict.values(self)

    def __len__(self) -> int:
        self._ensure()
        return dict.__len__(self)

    def __eq__(self, other: object) -> bool:
        self._ensure()
        return dict.__eq__(self, other)

    __hash__ = None


@functools.cache
def _snake(name: str) -> str:
    from moto.core.utils import camelcase_to_underscores

    return str(camelcase_to_underscores(name))


PATCHES = (
    _PHYSICAL_RESOURCE_ID := Patch(
        owner=Queue,
        name="physical_resource_id",
        replacement=_queue_url,
        kind=Kind.GAP,
        why="A queue's Ref (the stack outputs' queue URLs) names `sqs.<region>.amazonaws.com`; behind "
        "a local endpoint it names that endpoint, as moto's own GetQueueUrl answers over HTTP.",
    ),
    Patch(
        owner=SQSBackend,
        name="is_message_valid_based_on_retention_period",
        replacement=_retention_check,
        kind=Kind.SPEED,
        why="moto computes every queue attribute (a walk over all its messages) to read the "
        "retention period, for each message it receives.",
    ),
    Patch(
        owner=Queue,
        name="attributes",
        replacement=_LazyQueueAttributes,
        kind=Kind.SPEED,
        why="moto rebuilds every attribute, message counts included, on each SendMessage and per "
        "name in GetQueueAttributes: a queue nobody drains (the domain-events tap) went quadratic. "
        "The counts are computed when read.",
    ),
    Patch(
        owner=Queue,
        name="messages",
        replacement=_visible_messages,
        kind=Kind.SPEED,
        why="moto reads the clock twice per message on every ReceiveMessage (a few thousand "
        "datetime calls for a queue a thousand deep); read once per receive.",
    ),
    Patch(
        owner=Queue,
        name="delete_message",
        replacement=_delete_message,
        kind=Kind.GAP | Kind.SPEED,
        why="moto rebuilds the message list without the lock SendMessage appends under (a message "
        "sent during a delete could be lost), in two passes; one pass, under that lock.",
    ),
)
