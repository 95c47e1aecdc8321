"""The kinds of order the harness sends, defined once, and the state each one ends in.

What each kind is comes from the saga's business rules (../shared/DESIGN.md, docs/orders.md):
an order naming a medication outside the catalogue fails at the prescription, one asking for
a medication without stock fails at the reservation, one shipping outside the delivery area
fails at the shipment (each compensated), and one without medications is rejected before
any step runs. Their medications are those of the demo catalogue (`harness.seed`).
"""

from __future__ import annotations

import enum
from typing import Any

from harness.seed import DEMO_CATALOGUE, DEMO_STOCK
from lambdas.domain.states import SagaState

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
UNDELIVERABLE_ADDRESS = {**US_ADDRESS, "country": "AQ"}
"""Antarctica: outside the delivery area."""

STOCKED = tuple(m for m in DEMO_CATALOGUE if DEMO_STOCK[m] > 0)
"""Medications in the catalogue with stock: a valid order names only these."""
SCARCE = next(m for m in DEMO_CATALOGUE if DEMO_STOCK[m] == 0)
"""In the catalogue, never in stock."""
UNKNOWN = "med-unknown"
"""Not in the catalogue."""
assert UNKNOWN not in DEMO_CATALOGUE


class Kind(enum.StrEnum):
    VALID = "valid"
    NO_STOCK = "no-stock"
    UNKNOWN_MED = "unknown-med"
    UNDELIVERABLE = "undeliverable"
    INVALID = "invalid"

    @property
    def ends_in(self) -> SagaState:
        """The state a saga of this kind ends in, when nothing but the order decides."""
        return _ENDS_IN[self]


_ENDS_IN = {
    Kind.VALID: SagaState.COMPLETED,
    Kind.NO_STOCK: SagaState.FAILED,
    Kind.UNKNOWN_MED: SagaState.FAILED,
    Kind.UNDELIVERABLE: SagaState.FAILED,
    Kind.INVALID: SagaState.REJECTED,
}


def order(order_id: str, *medications: Any, **extra: Any) -> dict[str, Any]:
    """An OrderCreated detail: medications as ids or {medication_id, quantity} lines."""
    return {"order_id": order_id, "patient_id": f"patient-of-{order_id}", "medications": list(medications), **extra}


def of_kind(kind: Kind, order_id: str, *medications: Any, **extra: Any) -> dict[str, Any]:
    """An order of `kind` whose good lines are `medications` (stocked ones; the first by default)."""
    lines: list[Any] = list(medications) or [STOCKED[0]]
    if kind is Kind.NO_STOCK:
        lines.append(SCARCE)
    elif kind is Kind.UNKNOWN_MED:
        lines.append(UNKNOWN)
    elif kind is Kind.UNDELIVERABLE:
        extra["shipping_address"] = UNDELIVERABLE_ADDRESS
    elif kind is Kind.INVALID:
        lines = []
    return order(order_id, *lines, **extra)
