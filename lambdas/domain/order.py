"""The OrderCreated contract: what a pharmacy sends, validated and normalised."""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"
"""The order id becomes the Step Functions execution name, hence the tight pattern."""

MAX_LINES = 25
"""A reservation is one DynamoDB transaction: lines plus the reservation record must fit."""

MAX_QUANTITY = 1000

MAX_METADATA_CHARS = 8192
"""The client's metadata, as JSON: it travels with the saga's first event, which must fit one item."""
MAX_METADATA_DEPTH = 8
"""Objects and lists in the metadata nest at most this deep."""

KEY_PLACEHOLDER = "<key>"
"""Stands in a reason for a key the client named: a key name is input, and may be patient data."""

_ORDER_ID = re.compile(ORDER_ID_PATTERN)

_STRICT = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False)
"""Unknown keys refused, values never in errors; NaN and Infinity are not JSON (a float field refuses them)."""


class OrderLine(BaseModel):
    model_config = _STRICT

    medication_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)] = 1


class ShippingAddress(BaseModel):
    model_config = _STRICT

    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(min_length=2, max_length=2)]


class OrderCreated(BaseModel):
    """The `detail` of an EventBridge `OrderCreated` event, normalised.

    `medications` accepts bare ids (quantity 1) or `{medication_id, quantity}` objects;
    the same medication listed twice is merged into one line with the summed quantity.
    """

    model_config = _STRICT

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)]
    patient_id: Annotated[str, Field(min_length=1, max_length=128)]
    medications: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]
    shipping_address: ShippingAddress | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("*", mode="before")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        # json.loads reads an escaped lone surrogate ("\ud800") into a str that UTF-8 cannot encode:
        # JSON leaves its meaning open (RFC 8259, section 8.2), and the event's JSON would change such a
        # key without a word (pydantic writes it as three other characters). Refused, as any bad value.
        if _holds_lone_surrogate(value):
            raise ValueError("holds text that is not valid Unicode (a lone surrogate, U+D800 to U+DFFF)")
        return value

    @field_validator("medications", mode="before")
    @classmethod
    def _lines_from_ids_or_objects(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [{"medication_id": item} if isinstance(item, str) else item for item in value]

    @field_validator("medications", mode="after")
    @classmethod
    def _merge_repeated_medications(cls, lines: list[OrderLine]) -> list[OrderLine]:
        merged: dict[str, int] = {}
        for line in lines:
            merged[line.medication_id] = merged.get(line.medication_id, 0) + line.quantity
        if any(quantity > MAX_QUANTITY for quantity in merged.values()):
            raise ValueError(f"a medication's total quantity is above {MAX_QUANTITY}")
        return [OrderLine(medication_id=med, quantity=qty) for med, qty in merged.items()]

    @field_validator("metadata", mode="after")
    @classmethod
    def _metadata_within_bounds(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        if _depth(metadata) > MAX_METADATA_DEPTH:
            raise ValueError(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
        # json.loads reads NaN, Infinity and numbers beyond a double (1e400) as non-finite floats;
        # kept, they would be dumped as null: the client's data changed without a word.
        if _holds_non_finite(metadata):
            raise ValueError("metadata holds a number that is not finite (NaN, Infinity or out of range)")
        if len(json.dumps(metadata)) > MAX_METADATA_CHARS:
            raise ValueError(f"metadata is longer than {MAX_METADATA_CHARS} characters as JSON")
        return metadata


def _depth(value: Any) -> int:
    """How deep objects and lists nest in `value` (without recursion: the input is a client's)."""
    deepest, level = 0, [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            level.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _holds_non_finite(value: Any) -> bool:
    """Whether a float in `value` is NaN or infinite (without recursion: the input is a client's)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict | list):
            pending.extend(item.values() if isinstance(item, dict) else item)
    return False


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether a string in `value`, a key or a value, holds a lone surrogate (without recursion: the input is a
    client's)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and _LONE_SURROGATE.search(item):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A str from json.loads holds a surrogate only when the JSON escaped one alone: a pair is read as one character."""


def usable_order_id(detail: Any) -> str | None:
    """The order id of a raw detail, if it is one we can name a saga after."""
    if isinstance(detail, dict):
        order_id = detail.get("order_id")
        if isinstance(order_id, str) and _ORDER_ID.match(order_id):
            return order_id
    return None


_NESTED: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (OrderCreated, "medications"): OrderLine,
    (OrderCreated, "shipping_address"): ShippingAddress,
}
"""The fields whose values are models of ours: their keys are named by that model."""


def _location(loc: tuple[int | str, ...]) -> str:
    """Where an error is, in our model's words: a key the client made up (unknown, or inside
    metadata) is shown as KEY_PLACEHOLDER; field names of our models and list indexes stay."""
    parts: list[str] = []
    model: type[BaseModel] | None = OrderCreated
    for part in loc:
        if isinstance(part, int):
            parts.append(str(part))
        elif model is not None and part in model.model_fields:
            parts.append(part)
            model = _NESTED.get((model, part))
        else:
            parts.append(KEY_PLACEHOLDER)
            model = None  # below a client's key, every key is the client's too
    return ".".join(parts) or "order"


def validation_reasons(error: ValidationError) -> list[str]:
    """Readable reasons for a rejected order: where (in our model's words) and what, never the input.

    The input and the URL are left out; the words (lambdas/domain/wording.py) read from an error's
    context only our own bounds and validators' messages. A key name is input too (it may be patient
    data): `_location` stands in for it."""
    from lambdas.domain.wording import worded

    return [worded(_location(item["loc"]), item) for item in error.errors(include_url=False, include_input=False)]
