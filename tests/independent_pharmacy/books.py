"""The independent pharmacy's books: its catalogue, its stock, and the resources the saga creates and cancels.

The rules are those docs/pharmacy-api.yaml states for each operation; where it leaves a choice to the
pharmacy (which countries its carrier serves, what its catalogue holds) this pharmacy makes its own.
Each method returns the answer (status, JSON body) and is called under the server's lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tests.independent_pharmacy.shapes import Address, Lines

Kind = Literal["prescription", "reservation", "shipment"]
Answer = tuple[int, dict[str, Any]]

CATALOGUE = {"med-1": 3, "med-2": 2, "med-3": 6, "med-scarce": 5, "med-house-1": 2}
"""Medication -> the most one prescription may ask for (`med-house-1`: this pharmacy's own product)."""
STOCK = {"med-1": 100, "med-2": 100, "med-3": 100, "med-scarce": 0, "med-house-1": 50}
"""Medication -> units on the shelf when the books open; a medication not here is not stocked."""
POSTAL_CODES = {
    "US": re.compile(r"\d{5}(-\d{4})?"),
    "CA": re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d"),
    "FR": re.compile(r"\d{5}"),
}
"""The countries this pharmacy's carrier serves, and a postal code's shape in each."""

ACTIVE = {"prescription": "ACTIVE", "reservation": "RESERVED", "shipment": "INITIATED"}
UNDONE = {"prescription": "CANCELLED", "reservation": "RELEASED", "shipment": "CANCELLED"}
ID_FIELD = {"prescription": "prescription_id", "reservation": "reservation_id", "shipment": "shipment_id"}


@dataclass(frozen=True)
class Held:
    """One resource as the books hold it; `created` is False for a cancel that came first (a tombstone)."""

    kind: Kind
    resource_id: str
    status: str
    created: bool
    order_id: str | None = None
    content: tuple[Any, ...] = ()
    """What makes two creates the same: (patient id, lines), (lines) or (patient id, address)."""


@dataclass
class Books:
    held: dict[str, Held] = field(default_factory=dict)
    available: dict[str, int] = field(default_factory=lambda: dict(STOCK))
    reserved: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STOCK, 0))

    def create_prescription(self, resource_id: str, order_id: str, patient_id: str, lines: Lines) -> Answer:
        def refusal() -> Answer | None:
            for number, (medication, quantity) in enumerate(lines, start=1):
                if medication not in CATALOGUE:
                    return 422, {"reason": f"line {number}: medication not in the catalogue"}
                if quantity > CATALOGUE[medication]:
                    return 422, {"reason": f"line {number}: quantity above the per-prescription maximum"}
            return None

        return self._create("prescription", resource_id, order_id, (patient_id, lines), refusal, lambda: None)

    def reserve_inventory(self, resource_id: str, order_id: str, lines: Lines) -> Answer:
        def refusal() -> Answer | None:
            for number, (medication, quantity) in enumerate(lines, start=1):
                if self.available.get(medication, 0) < quantity:  # not stocked: none
                    return 409, {"reason": f"line {number}: not enough stock"}
            return None

        def reserve() -> None:  # every line or, refused above, none
            for medication, quantity in lines:
                self.available[medication] -= quantity
                self.reserved[medication] += quantity

        return self._create("reservation", resource_id, order_id, (lines,), refusal, reserve)

    def create_shipment(self, resource_id: str, order_id: str, patient_id: str, address: Address | None) -> Answer:
        def refusal() -> Answer | None:
            if address is None:
                return None
            fields = dict(address)
            shape = POSTAL_CODES.get(str(fields["country"]))
            if shape is None:
                return 422, {"reason": "the shipping address is in a country this pharmacy does not ship to"}
            if not shape.fullmatch(str(fields["postal_code"])):
                return 422, {"reason": "the shipping address's postal code is malformed for its country"}
            return None

        answer = self._create("shipment", resource_id, order_id, (patient_id, address), refusal, lambda: None)
        if answer[0] in (200, 201):
            answer[1]["ships_to"] = "address_on_file" if address is None else "order_address"
        return answer

    def cancel(self, kind: Kind, resource_id: str) -> Answer:
        """cancelPrescription, releaseInventory, cancelShipment: done whether or not it exists, and remembered."""
        held = self.held.get(resource_id)
        was_active = held is not None and held.status == ACTIVE[kind]
        if held is None:
            self.held[resource_id] = Held(kind, resource_id, UNDONE[kind], created=False)
        elif was_active:
            if kind == "reservation":
                for medication, quantity in held.content[0]:
                    self.available[medication] += quantity
                    self.reserved[medication] -= quantity
            self.held[resource_id] = replace(held, status=UNDONE[kind])
        return 200, {"id": resource_id, "status": UNDONE[kind], "was_active": was_active}

    def is_undone(self, resource_id: str) -> bool:
        held = self.held.get(resource_id)
        return held is not None and held.status != ACTIVE[held.kind]

    def _create(
        self,
        kind: Kind,
        resource_id: str,
        order_id: str,
        content: tuple[Any, ...],
        refusal: Callable[[], Answer | None],
        do: Callable[[], None],
    ) -> Answer:
        held = self.held.get(resource_id)
        if held is not None and held.status == UNDONE[kind]:
            return cancelled_first(kind)
        body = {ID_FIELD[kind]: resource_id, "order_id": order_id, "status": ACTIVE[kind]}
        if held is not None:
            if (held.order_id, held.content) == (order_id, content):
                return 200, body
            # coded apart from a refusal: the resource exists, and the client must undo what it holds
            return 409, {"reason": f"this {kind} exists for another order or with other content", "code": OTHER}
        refused = refusal()
        if refused is not None:
            return refused
        do()
        self.held[resource_id] = Held(kind, resource_id, ACTIVE[kind], created=True, order_id=order_id, content=content)
        return 201, body


OTHER = "exists_with_other_content"
"""The `code` of the 409 refusing a create of an id that exists with other content."""


def cancelled_first(kind: Kind) -> Answer:
    """The one 409 that carries `code: cancelled`: the saga's undo of this resource came first."""
    return 409, {"reason": f"this {kind} was cancelled: it can no longer be created", "code": "cancelled"}
