"""The contract's request bodies and header values, read with the saga's own order constraints.

The lines and the address are the order model's own classes (`lambdas.domain.order`), so the
bounds a pharmacy checks are the bounds the saga sends within; tests/pharmacy pins that
docs/pharmacy-api.yaml states the same ones.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lambdas.domain.order import MAX_LINES, ORDER_ID_PATTERN, OrderLine, ShippingAddress

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")
RESOURCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

_STRICT = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False)

OrderId = Annotated[str, Field(pattern=ORDER_ID_PATTERN)]
Lines = Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]


def _one_line_per_medication(lines: list[OrderLine]) -> list[OrderLine]:
    # The saga merges repeated medications; a line number must point at one medication.
    if len({line.medication_id for line in lines}) != len(lines):
        raise ValueError("a medication appears on more than one line")
    return lines


class PrescriptionBody(BaseModel):
    model_config = _STRICT

    order_id: OrderId
    patient_id: Annotated[str, Field(min_length=1, max_length=128)]
    lines: Lines

    _unique = field_validator("lines")(_one_line_per_medication)


class ReservationBody(BaseModel):
    model_config = _STRICT

    order_id: OrderId
    lines: Lines

    _unique = field_validator("lines")(_one_line_per_medication)


class ShipmentBody(BaseModel):
    model_config = _STRICT

    order_id: OrderId
    patient_id: Annotated[str, Field(min_length=1, max_length=128)]
    shipping_address: ShippingAddress | None = None


Body = PrescriptionBody | ReservationBody | ShipmentBody


def fingerprint(operation_id: str, resource_id: str, body: BaseModel | None) -> str:
    """What a request asks, normalised: a repeated Idempotency-Key must ask the same."""
    content: Any = body.model_dump(mode="json") if body is not None else None
    return json.dumps([operation_id, resource_id, content], sort_keys=True, separators=(",", ":"))
