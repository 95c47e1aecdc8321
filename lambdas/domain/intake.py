"""What arrives: one OrderCreated delivery, validated once, and what is kept of it when refused.

A refused message is kept so nothing a client sent disappears, but kept within bounds, so its
record always fits one event-store item (DynamoDB: 400 KB) whatever the client sent (EventBridge:
up to 1 MiB an entry since January 2026): reasons capped in count and length with the total kept, and the raw
message kept whole when it fits, otherwise by its size, digest and a bounded prefix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lambdas.domain.order import OrderCreated, usable_order_id, validation_reasons

MAX_REASONS = 20
"""Reasons kept per refusal; `reasons_total` says how many there were."""
MAX_REASON_CHARS = 200
"""A reason's length at most (a reason names a field, which a client may make as long as it likes)."""
RAW_MESSAGE_MAX_STORED = 300_000
"""The raw message is kept whole up to this size as stored (a JSON string: escapes included)."""
RAW_MESSAGE_PREFIX_STORED = 16_384
"""Beyond that, its first characters up to this stored size, beside its size and SHA-256."""
ORDER_FIELDS = tuple(OrderCreated.model_fields)
"""The fields a conflict may name; any other key a client sent is counted as `other fields`."""


class UnusableMessage(Exception):
    """A message we cannot even name a saga after: it must end in the dead-letter queue."""


def _stored_size(text: str) -> int:
    """The size of `text` as the event store keeps it: inside the payload's JSON, escaped."""
    return len(json.dumps(text))


def _prefix(text: str, limit: int) -> str:
    prefix = text[:limit]
    while (size := _stored_size(prefix)) > limit:
        prefix = prefix[: max(1, len(prefix) * limit // size) - 1]
    return prefix


def kept_raw_message(raw: str, *, whole: bool | None = None) -> dict[str, Any]:
    """The raw-message fields of a refusal: the message itself, or its prefix, and how to tell."""
    if whole is None:
        whole = _stored_size(raw) <= RAW_MESSAGE_MAX_STORED
    data = raw.encode("utf-8", "surrogatepass")
    return {
        "raw_message": raw if whole else _prefix(raw, RAW_MESSAGE_PREFIX_STORED),
        "raw_message_bytes": len(data),
        "raw_message_sha256": hashlib.sha256(data).hexdigest(),
        "raw_message_truncated": not whole,
    }


def bounded_reasons(reasons: list[str]) -> list[str]:
    return [r if len(r) <= MAX_REASON_CHARS else r[: MAX_REASON_CHARS - 1] + "…" for r in reasons[:MAX_REASONS]]


def order_digest(detail: dict[str, Any]) -> str:
    """One order's content, whatever its keys' order or the envelope around it (time, event id)."""
    canonical = json.dumps(detail, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def message_order_digest(body: str) -> str:
    """The order digest of a whole SQS body (`{}` standing for a body without a detail object)."""
    try:
        detail = order_detail(body)
    except UnusableMessage:
        detail = {}
    return order_digest(detail)


def fields_differing(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The order fields whose values differ (names only: values are patient data)."""
    if before is None:
        return []
    differing = [name for name in ORDER_FIELDS if before.get(name) != after.get(name)]
    others = (set(before) | set(after)) - set(ORDER_FIELDS)
    if any(before.get(key) != after.get(key) for key in others):
        differing.append("other fields")
    return differing


@dataclass(frozen=True)
class Delivery:
    """One OrderCreated message as it arrived, validated with the model every reader uses."""

    message_id: str
    order_id: str
    raw_message: str
    detail: dict[str, Any]
    order: OrderCreated | None
    """None when the order is invalid; `reasons` say why."""
    reasons: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return order_digest(self.detail)

    @property
    def content(self) -> dict[str, Any]:
        """What the order says, normalised when valid (bare ids as lines), raw otherwise."""
        return canonical_order(self.order) if self.order is not None else self.detail


def canonical_order(order: OrderCreated) -> dict[str, Any]:
    return order.model_dump(mode="json")


def order_detail(body: str) -> dict[str, Any]:
    """The OrderCreated detail from an SQS body holding the EventBridge event.

    json.loads reads NaN and Infinity (not JSON) as floats, and so they stay here: the order model
    refuses them, so such an order is rejected with its raw message kept, not dead-lettered."""
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError:
        raise UnusableMessage("message body is not JSON") from None
    except RecursionError:
        raise UnusableMessage("message body is nested too deeply to read") from None
    detail = envelope.get("detail") if isinstance(envelope, dict) else None
    if not isinstance(detail, dict):
        raise UnusableMessage("message has no OrderCreated detail object")
    return detail


def receive(body: str, message_id: str) -> Delivery:
    """The delivery in `body`; UnusableMessage when it has no order id we can name a saga after.

    The validation error is turned into reasons and dropped here, inside this function: raised
    or chained later (a crash while saving), it would print the input's values in a traceback.
    """
    detail = order_detail(body)
    order_id = usable_order_id(detail)
    if order_id is None:
        raise UnusableMessage("message has no usable order_id")
    order, reasons = _validated(detail)
    return Delivery(message_id, order_id, body, detail, order, reasons)


def _validated(detail: dict[str, Any]) -> tuple[OrderCreated | None, list[str]]:
    try:
        return OrderCreated.model_validate(detail), []
    except ValidationError as invalid:
        reasons = validation_reasons(invalid)
    except RecursionError:
        reasons = ["order: nested too deeply to validate"]
    return None, reasons
