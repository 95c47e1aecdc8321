"""The interfaces the saga logic needs from the outside world, and the errors they raise; adapters implement them.

Every Protocol of lambdas/ is declared here (tests/structure/test_one_place_for_each_fact.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from lambdas.domain.errors import SagaError
from lambdas.domain.events import StoredEvent
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.projection import SagaView
from lambdas.domain.rules import CatalogueEntry
from lambdas.logic.faults import FaultInjector

if TYPE_CHECKING:  # the repository is built on the EventStore declared here
    from lambdas.logic.repository import SagaRepository


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


class ProjectionStore(Protocol):
    def put(self, view: SagaView, previous_version: int | None) -> None: ...

    def replace(self, view: SagaView) -> None: ...


class ProjectionRows(ProjectionStore, Protocol):
    def get_each(self, order_ids: Iterable[str]) -> Mapping[str, Callable[[], SagaView]]:
        """The rows of `order_ids` that exist, read together; each decoded when its entry is
        called, so that a row which cannot be decoded fails only its own saga."""
        ...


class ExecutionStarter(Protocol):
    def start(self, order_id: str, message_id: str) -> bool:
        """Start the execution named by the order id for the message that delivered the order.

        False when it exists already, started for another message or ended. True again for the
        same message while the execution runs: SQS delivers a message again when the handler
        failed after starting its execution, and that attempt counted nothing.
        """
        ...


class CompensationStarter(Protocol):
    def start(self, order_id: str) -> bool: ...


class TaskTokens(Protocol):
    """The waiting task's token of each saga waiting for a pharmacist, by order id."""

    def keep(self, order_id: str, token: str, expires_at: datetime) -> None: ...
    def find(self, order_id: str) -> str | None: ...


class WaitingTasks(Protocol):
    """Step Functions' SendTaskSuccess / SendTaskFailure: False when the task waits no more."""

    def succeed(self, token: str, output: dict[str, Any]) -> bool: ...
    def fail(self, token: str, error: str, cause: str) -> bool: ...


class SagaExecutionStopper(Protocol):
    def stop(self, order_id: str) -> bool:
        """Stop the order's running execution; False when it has none (not started yet)."""
        ...


class SagaServices(Protocol):
    """What the steps use; a Lambda builds only the adapters its step touches."""

    @property
    def repository(self) -> SagaRepository: ...
    @property
    def catalogue(self) -> Catalogue: ...
    @property
    def prescriptions(self) -> Prescriptions: ...
    @property
    def inventory(self) -> Inventory: ...
    @property
    def shipments(self) -> Shipments: ...
    @property
    def faults(self) -> FaultInjector: ...
