"""The interfaces the saga logic needs from the outside world, and the errors they raise; adapters implement them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from lambdas.domain.errors import SagaError
from lambdas.domain.events import StoredEvent
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.rules import CatalogueEntry


class ExecutionNameTaken(SagaError):
    """An execution of that name exists already (a state machine runs one execution per name)."""


class ExecutionNotFound(SagaError):
    """No execution has that ARN (never started, or past Step Functions' retention)."""


class EventStore(Protocol):
    """Append-only streams of events with optimistic concurrency.

    `append` writes all events or none; an event whose (stream, version) already exists
    makes the whole append fail with `ConcurrencyConflict`.
    """

    def append(self, events: Sequence[StoredEvent]) -> None: ...

    def read(self, stream_id: str) -> list[StoredEvent]: ...

    def iter_all(self) -> Iterator[StoredEvent]:
        """Every stored event, each stream in version order (streams in no given order)."""
        ...


class Catalogue(Protocol):
    def entries(self, medication_ids: Sequence[str]) -> Mapping[str, CatalogueEntry]: ...


class Prescriptions(Protocol):
    applies_its_own_rules: bool
    """True when the system itself refuses what it will not prescribe (the pharmacy's API, by its own
    catalogue); False when the saga applies the built-in rules before (the stack's tables)."""

    def create(self, prescription_id: str, order_id: str, lines: Sequence[OrderLine], *, patient_id: str) -> None:
        """Create the prescription once; creating it again is not an error. ConcurrencyConflict
        when it was cancelled first (its undo ran before it): then nothing is created.
        PrescriptionFailed when the system holding prescriptions refuses it (its reason kept).
        `patient_id` is patient data: an implementation may send it on, never log it."""
        ...

    def cancel(self, prescription_id: str) -> bool:
        """Cancel it; False when this call found nothing active to cancel (and it can no longer be created)."""
        ...


@dataclass(frozen=True)
class StreamGuard:
    """Write only if nothing was appended to `stream_id` after `version` (the saga did not move on)."""

    stream_id: str
    version: int


class Inventory(Protocol):
    def reserve(
        self, reservation_id: str, order_id: str, lines: Sequence[OrderLine], guard: StreamGuard | None = None
    ) -> None:
        """Reserve every line or none; raises InventoryReservationFailed naming the short line,
        ConcurrencyConflict when the guard's stream moved on or the reservation was released
        first (nothing reserved then)."""
        ...

    def release(self, reservation_id: str) -> bool:
        """Return the reserved stock; False when there was no active reservation (and none can be made)."""
        ...


class Shipments(Protocol):
    applies_its_own_rules: bool
    """True when the carrier itself refuses where it does not deliver (the pharmacy's API); False when
    the saga applies the built-in delivery rules before (the stack's tables)."""

    def initiate(
        self, shipment_id: str, order_id: str, ships_to: str, *, patient_id: str, address: ShippingAddress | None
    ) -> None:
        """Initiate the shipment once; initiating it again is not an error. ConcurrencyConflict
        when it was cancelled first: then nothing is initiated. ShipmentInitiationFailed when the
        carrier refuses it (its reason kept). `patient_id` (whose shipment, and whose address on
        file when `address` is None) and `address` are patient data: an implementation may send
        them on, never log them."""
        ...

    def cancel(self, shipment_id: str) -> bool:
        """Cancel an initiated shipment; False when there was none to cancel (and none can be initiated)."""
        ...
