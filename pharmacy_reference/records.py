"""What the pharmacy created and cancelled, and the business rules that refuse a create.

Not thread-safe by itself: `service.Pharmacy` calls it under one lock. A cancel of something
never created leaves a tombstone (the id, cancelled, no content), so a create that arrives
after its own undo is refused with 409 and creates nothing: the undo-before-do rule of the
built-in tables (lambdas/adapters/business_tables.py). Reasons name a line by its number,
never a medication, patient or address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from lambdas.domain.rules import CatalogueEntry, prescription_refusal, shipment_refusal, ships_to
from pharmacy_reference.bodies import PrescriptionBody, ReservationBody, ShipmentBody


class Kind(Enum):
    """A kind of record: its name in reasons, its id field, its done and undone statuses."""

    PRESCRIPTION = ("prescription", "prescription_id", "ACTIVE", "CANCELLED")
    RESERVATION = ("reservation", "reservation_id", "RESERVED", "RELEASED")
    SHIPMENT = ("shipment", "shipment_id", "INITIATED", "CANCELLED")

    def __init__(self, label: str, id_field: str, done: str, undone: str) -> None:
        self.label, self.id_field, self.done, self.undone = label, id_field, done, undone


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status and JSON body."""

    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Record:
    """One prescription, reservation or shipment, as the pharmacy holds it.

    `content` is the create's body (None for a tombstone); `times_created` counts the creates
    that took effect, which must never exceed one."""

    kind: Kind
    record_id: str
    status: str
    content: Mapping[str, Any] | None = None
    times_created: int = 0


def refused(status: int, reason: str) -> Answer:
    return Answer(status, {"reason": reason})


def cancelled_first(kind: Kind) -> Answer:
    """The 409 of a create whose resource was cancelled: its `code` tells it from a business refusal."""
    reason = f"the {kind.label} was cancelled (perhaps before it was created); it cannot be created"
    return Answer(409, {"reason": reason, "code": "cancelled"})


def other_content(kind: Kind) -> Answer:
    """The 409 of a create whose id exists with other content: its `code` tells it from a business
    refusal, since the resource exists (perhaps the saga's own, from a body an earlier deploy sent)."""
    reason = f"the {kind.label} exists with other content"
    return Answer(409, {"reason": reason, "code": "exists_with_other_content"})


@dataclass
class Records:
    catalogue: Mapping[str, CatalogueEntry]
    available: dict[str, int]
    reserved: dict[str, int] = field(default_factory=dict)
    held: dict[tuple[Kind, str], Record] = field(default_factory=dict)

    def create(self, kind: Kind, record_id: str, body: PrescriptionBody | ReservationBody | ShipmentBody) -> Answer:
        content = body.model_dump(mode="json")
        existing = self.held.get((kind, record_id))
        if existing is not None:
            return self._again(existing, content)
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        if isinstance(body, ReservationBody):
            for line in body.lines:
                self.available[line.medication_id] -= line.quantity
                self.reserved[line.medication_id] = self.reserved.get(line.medication_id, 0) + line.quantity
        record = Record(kind, record_id, kind.done, content, times_created=1)
        self.held[kind, record_id] = record
        return Answer(201, self._view(record))

    def cancel(self, kind: Kind, record_id: str) -> Answer:
        existing = self.held.get((kind, record_id))
        was_active = existing is not None and existing.status == kind.done
        if existing is None:
            self.held[kind, record_id] = Record(kind, record_id, kind.undone)  # the tombstone
        elif was_active:
            self.held[kind, record_id] = replace(existing, status=kind.undone)
            if kind is Kind.RESERVATION and existing.content is not None:
                for line in existing.content["lines"]:
                    self.available[line["medication_id"]] += line["quantity"]
                    self.reserved[line["medication_id"]] -= line["quantity"]
        return Answer(200, {"id": record_id, "status": kind.undone, "was_active": was_active})

    def cancelled(self, kind: Kind, record_id: str) -> bool:
        found = self.held.get((kind, record_id))
        return found is not None and found.status == kind.undone

    def _again(self, existing: Record, content: Mapping[str, Any]) -> Answer:
        """A create of an id the pharmacy holds: done if the same, refused if undone or different."""
        kind = existing.kind
        if existing.status == kind.undone:
            return cancelled_first(kind)
        if existing.content != content:
            return other_content(kind)
        return Answer(200, self._view(existing))

    def _refusal(self, body: PrescriptionBody | ReservationBody | ShipmentBody) -> Answer | None:
        """The business rules: the same functions the built-in tables' steps apply."""
        if isinstance(body, PrescriptionBody):
            reason = prescription_refusal(body.lines, self.catalogue)
            return refused(422, reason) if reason else None
        if isinstance(body, ShipmentBody):
            reason = shipment_refusal(body.shipping_address)
            return refused(422, reason) if reason else None
        for number, line in enumerate(body.lines, start=1):  # all lines or none
            if self.available.get(line.medication_id, 0) < line.quantity:
                return refused(409, f"line {number}: not enough stock")
        return None

    @staticmethod
    def _view(record: Record) -> dict[str, Any]:
        content = record.content or {}
        view: dict[str, Any] = {record.kind.id_field: record.record_id, "order_id": content.get("order_id")}
        view["status"] = record.status
        if record.kind is Kind.SHIPMENT:
            view["ships_to"] = ships_to(ShipmentBody.model_validate(content).shipping_address)
        return view
