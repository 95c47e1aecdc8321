"""What a chaos run over HTTP left, as plain data for the invariants of pharmacy_invariants.py.

The sagas, the pharmacy's records and request log, and why each saga that compensated did: the
invariants read only this, so a test can hand them any record set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from harness.orders import Kind
from lambdas.domain import rules
from lambdas.domain.states import SagaState
from pharmacy_reference.records import Kind as RecordKind
from pharmacy_reference.records import Record

Arrival = tuple[str, str, str]
"""(operationId, resource id, Idempotency-Key) of one request the pharmacy received."""

RECORD_ID: Mapping[RecordKind, Callable[[str], str]] = {
    RecordKind.PRESCRIPTION: rules.prescription_id,
    RecordKind.RESERVATION: rules.reservation_id,
    RecordKind.SHIPMENT: rules.shipment_id,
}
"""The id the saga gives each kind of record for an order (the path's resource id)."""


@dataclass(frozen=True)
class Answered:
    """One request the pharmacy served (past its fault knobs: a 500 or 503 is answered before it), from its log."""

    operation_id: str
    resource_id: str
    key: str
    body: str | None
    """A digest of the create's body (None for a cancel): equal digests, equal bodies. Never the body:
    it names the patient."""
    status: int
    replayed: bool = False
    """The key's first answer, given again."""
    code: str | None = None
    reason: str | None = None
    """A refusal's reason: the pharmacy's words, read here and never printed."""


@dataclass(frozen=True)
class Compensated:
    """Why a saga started compensating, from its own records: its state change to COMPENSATING (the
    event store) and, when a step crashed, what each attempt of it met (its execution history)."""

    from_state: str
    """The state it left: the step that failed."""
    reason: str | None
    """The caught error's name for a crash (lambdas/logic/saga_steps.py `_reason`), a refusal's reason."""
    from_outside: bool
    """The reason is the pharmacy's words (a refusal): never printed."""
    attempts: int = 0
    calls: tuple[str, ...] = ()
    """Each call the crashed step's attempts made, as they saw its answer: `HTTP 500`, `no answer (...)`."""


@dataclass(frozen=True)
class AtThePharmacy:
    """A chaos run's sagas and what the pharmacy holds after every request, late ones too, was served."""

    kinds: Mapping[str, Kind]
    """order id -> the kind of order sent."""
    states: Mapping[str, str]
    """order id -> the settled saga's state."""
    records: Sequence[Record]
    arrivals: Sequence[Arrival]
    initial_stock: Mapping[str, int]
    """medication id -> units available before the run."""
    stock: Mapping[str, tuple[int, int]]
    """medication id -> (available, reserved) after it."""
    histories: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """order id -> the type keys of its saga's stream, in order."""
    still_in_flight: bool = False
    """Whether the pharmacy was still serving requests when the records were read (held past the wait)."""
    answered: Sequence[Answered] = ()
    compensated: Mapping[str, Compensated] = field(default_factory=dict)
    """order id -> why its saga compensated (the orders that did)."""
    injected: frozenset[str] = frozenset()
    """What a step sees of each fault the pharmacy was told to make (`HTTP 500`, `no answer (...)`)."""

    @cached_property
    def order_of(self) -> dict[tuple[RecordKind, str], str]:
        """(kind, record id) -> the order whose saga makes that record."""
        return {(kind, make(order_id)): order_id for order_id in self.kinds for kind, make in RECORD_ID.items()}

    def records_of(self, *states: SagaState) -> list[tuple[str, Record]]:
        """(order id, record) of every record whose saga ended in one of `states`."""
        wanted = {s.value for s in states}
        found = []
        for record in self.records:
            order_id = self.order_of.get((record.kind, record.record_id))
            if order_id is not None and self.states.get(order_id) in wanted:
                found.append((order_id, record))
        return found
