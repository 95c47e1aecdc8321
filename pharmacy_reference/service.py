"""The pharmacy as the contract sees it: the six operations, each answered once per Idempotency-Key.

One lock covers the key lookup, the work and the remembered answer, so two deliveries of one key
at once do the work once and get the same answer (the second waits: never a 409, which the saga
would read as a refusal). Only final answers (2xx, 409, 422) are remembered, and a create's 2xx is
not replayed once its resource is cancelled (the 409 of docs/pharmacy-api.yaml "Cancel before create").
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.domain.rules import CatalogueEntry
from pharmacy_reference import catalogue
from pharmacy_reference.bodies import Body, PrescriptionBody, ReservationBody, ShipmentBody, fingerprint
from pharmacy_reference.records import Answer, Kind, Record, Records, cancelled_first


@dataclass(frozen=True)
class Operation:
    operation_id: str
    kind: Kind
    body: type[Body] | None
    """The create's body model; None for a cancel, which has no body."""


OPERATIONS: Mapping[str, Operation] = {
    op.operation_id: op
    for op in (
        Operation("createPrescription", Kind.PRESCRIPTION, PrescriptionBody),
        Operation("cancelPrescription", Kind.PRESCRIPTION, None),
        Operation("reserveInventory", Kind.RESERVATION, ReservationBody),
        Operation("releaseInventory", Kind.RESERVATION, None),
        Operation("createShipment", Kind.SHIPMENT, ShipmentBody),
        Operation("cancelShipment", Kind.SHIPMENT, None),
    )
}
"""operationId (docs/pharmacy-api.yaml) -> what it acts on."""

FINAL = frozenset({409, 422})


def key_reused() -> Answer:
    """The 422 of a key that came before with another request: its `code` tells it from a business
    refusal, since the key's first request may have done the work (the client must undo it)."""
    reason = "the Idempotency-Key was used before for a different request"
    return Answer(422, {"reason": reason, "code": "idempotency_key_reused"})


@dataclass(frozen=True)
class Remembered:
    fingerprint: str
    answer: Answer


@dataclass(frozen=True)
class Outcome:
    """The answer to one request, and whether it is a replay of the key's first answer."""

    answer: Answer
    replayed: bool = False


class Pharmacy:
    """In memory and thread-safe; seeded like the demo unless told otherwise."""

    def __init__(
        self, catalogue_entries: Mapping[str, CatalogueEntry] | None = None, stock: Mapping[str, int] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._records = Records(
            catalogue=dict(catalogue.CATALOGUE if catalogue_entries is None else catalogue_entries),
            available=dict(catalogue.STOCK if stock is None else stock),
        )
        self._answers: dict[str, Remembered] = {}
        self._arrivals: list[tuple[str, str, str]] = []

    def arrived(self, operation: Operation, resource_id: str, key: str) -> None:
        """Note a request that reached the pharmacy within the contract, before any fault knob."""
        with self._lock:
            self._arrivals.append((operation.operation_id, resource_id, key))

    def handle(self, operation: Operation, resource_id: str, key: str, body: Body | None) -> Outcome:
        asked = fingerprint(operation.operation_id, resource_id, body)
        with self._lock:
            remembered = self._answers.get(key)
            if remembered is not None:
                if remembered.fingerprint != asked:
                    return Outcome(key_reused())
                created = body is not None and remembered.answer.status < 300
                if created and self._records.cancelled(operation.kind, resource_id):
                    # Cancelled since: replaying the create's 2xx would say the resource is active.
                    return Outcome(cancelled_first(operation.kind))
                return Outcome(remembered.answer, replayed=True)
            if body is None:
                answer = self._records.cancel(operation.kind, resource_id)
            else:
                answer = self._records.create(operation.kind, resource_id, body)
            if 200 <= answer.status < 300 or answer.status in FINAL:
                self._answers[key] = Remembered(asked, answer)
            return Outcome(answer)

    def stock_up(self, medication_id: str, available: int) -> None:
        """Set a medication's available stock, as the warehouse's staff would; what is reserved stays."""
        with self._lock:
            self._records.available[medication_id] = available
            self._records.reserved.setdefault(medication_id, 0)

    # --- what a test or a chaos run reads: the pharmacy's own records ---

    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records.held.values())

    def stock(self) -> dict[str, tuple[int, int]]:
        """medication id -> (available, reserved), like the built-in inventory table."""
        with self._lock:
            available, reserved = self._records.available, self._records.reserved
            return {med: (available.get(med, 0), reserved.get(med, 0)) for med in sorted({*available, *reserved})}

    def arrivals(self) -> list[tuple[str, str, str]]:
        """(operationId, resource id, Idempotency-Key) of every request within the contract, in arrival order."""
        with self._lock:
            return list(self._arrivals)

    def keys(self) -> dict[tuple[str, str], set[str]]:
        """(operationId, resource id) -> every Idempotency-Key it came with: one, when the client is right."""
        found: dict[tuple[str, str], set[str]] = {}
        for operation_id, resource_id, key in self.arrivals():
            found.setdefault((operation_id, resource_id), set()).add(key)
        return found

    def answers(self) -> dict[str, Any]:
        """Idempotency-Key -> the status first answered for it."""
        with self._lock:
            return {key: remembered.answer.status for key, remembered in self._answers.items()}
