"""In-memory stand-ins for the business ports, for logic tests without AWS.

Each passes its port's contract (tests/contract/), as the adapter does; an operation holds the
fake's lock, so it is as atomic under threads as the adapter's conditional write.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.errors import ConcurrencyConflict, InventoryReservationFailed
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.projection import SagaView
from lambdas.domain.rules import CatalogueEntry
from lambdas.logic.faults import NO_FAULTS, FaultInjector
from lambdas.logic.ports import EventStore, StreamGuard
from lambdas.logic.repository import SagaRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class FakeCatalogue:
    items: dict[str, CatalogueEntry] = field(default_factory=dict)

    def entries(self, medication_ids: Sequence[str]) -> Mapping[str, CatalogueEntry]:
        return {m: self.items[m] for m in medication_ids if m in self.items}


@dataclass
class FakePrescriptions:
    applies_its_own_rules = False
    status: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def create(self, prescription_id: str, order_id: str, lines: Sequence[OrderLine], *, patient_id: str) -> None:
        with self._lock:
            if self.status.setdefault(prescription_id, "ACTIVE") == "CANCELLED":
                raise ConcurrencyConflict("cancelled before it was created")

    def cancel(self, prescription_id: str) -> bool:
        with self._lock:
            if self.status.setdefault(prescription_id, "CANCELLED") != "ACTIVE":
                return False
            self.status[prescription_id] = "CANCELLED"
            return True


@dataclass
class FakeInventory:
    available: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, tuple[str, list[OrderLine]]] = field(default_factory=dict)
    events: EventStore | None = None
    """The event store a guard is checked against (FakeServices gives its own); None checks none,
    as the adapter without an event store table."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def reserve(
        self, reservation_id: str, order_id: str, lines: Sequence[OrderLine], guard: StreamGuard | None = None
    ) -> None:
        with self._lock:
            if reservation_id in self.reservations:
                if self.reservations[reservation_id][0] == "RELEASED":
                    raise ConcurrencyConflict("released before it was made")
                return
            if guard is not None and self._moved_on(guard):
                raise ConcurrencyConflict("the saga moved on before the reservation; nothing reserved")
            for number, line in enumerate(lines, start=1):
                if self.available.get(line.medication_id, 0) < line.quantity:
                    raise InventoryReservationFailed(f"line {number}: not enough stock")
            for line in lines:
                self.available[line.medication_id] -= line.quantity
                self.reserved[line.medication_id] = self.reserved.get(line.medication_id, 0) + line.quantity
            self.reservations[reservation_id] = ("RESERVED", list(lines))

    def _moved_on(self, guard: StreamGuard) -> bool:
        return self.events is not None and any(e.version > guard.version for e in self.events.read(guard.stream_id))

    def release(self, reservation_id: str) -> bool:
        with self._lock:
            found = self.reservations.setdefault(reservation_id, ("RELEASED", []))
            if found[0] != "RESERVED":
                return False
            for line in found[1]:
                self.available[line.medication_id] += line.quantity
                self.reserved[line.medication_id] -= line.quantity
            self.reservations[reservation_id] = ("RELEASED", found[1])
            return True


@dataclass
class FakeShipments:
    applies_its_own_rules = False
    shipments: dict[str, str] = field(default_factory=dict)
    """The initiated shipments: where each goes."""
    cancelled: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def initiate(
        self, shipment_id: str, order_id: str, ships_to: str, *, patient_id: str, address: ShippingAddress | None
    ) -> None:
        with self._lock:
            if shipment_id in self.cancelled:
                raise ConcurrencyConflict("cancelled before it was initiated")
            self.shipments.setdefault(shipment_id, ships_to)

    def cancel(self, shipment_id: str) -> bool:
        with self._lock:
            self.cancelled.add(shipment_id)
            return self.shipments.pop(shipment_id, None) is not None


@dataclass
class FakeProjection:
    """The saga projection table: rows by order id, written conditionally on the version read."""

    rows: dict[str, SagaView] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def get(self, order_id: str) -> SagaView | None:
        return self.rows.get(order_id)

    def get_many(self, order_ids: Iterable[str]) -> dict[str, SagaView]:
        return {o: self.rows[o] for o in dict.fromkeys(order_ids) if o in self.rows}

    def get_each(self, order_ids: Iterable[str]) -> dict[str, Callable[[], SagaView]]:
        return {o: functools.partial(lambda v: v, v) for o, v in self.get_many(order_ids).items()}

    def states(self, order_ids: Iterable[str]) -> dict[str, str]:
        return {o: v.state.value for o, v in self.get_many(order_ids).items()}

    def put(self, view: SagaView, previous_version: int | None) -> None:
        with self._lock:
            found = self.rows.get(view.order_id)
            if (found.version if found else None) != previous_version:
                raise ConcurrencyConflict(f"projection row {view.order_id} moved on")
            self.rows[view.order_id] = view

    def replace(self, view: SagaView) -> None:
        with self._lock:
            self.rows[view.order_id] = view

    def by_state(self, state: str, limit: int | None = None, before: str | None = None) -> Iterator[SagaView]:
        cutoff = datetime.fromisoformat(before) if before else None
        found = [v for v in self.rows.values() if v.state.value == state and (not cutoff or v.updated_at < cutoff)]
        found.sort(key=lambda v: v.updated_at, reverse=True)
        return iter(found[:limit] if limit else found)

    def count_by_state(self, state: str) -> int:
        return sum(1 for v in self.rows.values() if v.state.value == state)

    def all(self) -> Iterator[SagaView]:
        return iter(list(self.rows.values()))


@dataclass
class FakeStarter:
    """Starts executions named by order id, as Step Functions does: a name taken is refused, unless
    its execution runs and the call repeats the one that started it (same message)."""

    started: list[str] = field(default_factory=list)
    started_for: dict[str, str] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)

    def start(self, order_id: str, message_id: str) -> bool:
        if order_id in self.started_for:
            return order_id not in self.ended and self.started_for[order_id] == message_id
        self.started.append(order_id)
        self.started_for[order_id] = message_id
        return True

    def end(self, order_id: str) -> None:
        self.ended.add(order_id)


@dataclass
class FakeServices:
    event_store: InMemoryEventStore = field(default_factory=InMemoryEventStore)
    catalogue: FakeCatalogue = field(default_factory=FakeCatalogue)
    prescriptions: FakePrescriptions = field(default_factory=FakePrescriptions)
    inventory: FakeInventory = field(default_factory=FakeInventory)
    shipments: FakeShipments = field(default_factory=FakeShipments)
    faults: FaultInjector = field(default_factory=lambda: NO_FAULTS)

    def __post_init__(self) -> None:
        if self.inventory.events is None:  # as in production: guards checked on the saga's own store
            self.inventory.events = self.event_store

    @property
    def repository(self) -> SagaRepository:
        return SagaRepository(self.event_store, source="test")


HAPPY_PATH_EVENTS = [
    ev.OrderFulfillmentSagaStarted.TYPE_KEY,
    ev.OrderFulfillmentSagaStateChanged.TYPE_KEY,
    ev.PrescriptionCreated.TYPE_KEY,
    ev.OrderFulfillmentSagaStateChanged.TYPE_KEY,
    ev.InventoryReserved.TYPE_KEY,
    ev.OrderFulfillmentSagaStateChanged.TYPE_KEY,
    ev.ShipmentInitiated.TYPE_KEY,
    ev.OrderFulfillmentSagaStateChanged.TYPE_KEY,
    ev.OrderFulfillmentSagaCompleted.TYPE_KEY,
]
"""The stream of a completed saga, in order."""


def create_events_table(dynamodb: DynamoDBClient, name: str = "events") -> None:
    """A table shaped like the template's event store (pk string, sk number), on demand."""
    from tests.contract.tables import create_table

    create_table(dynamodb, "EventStoreEvents", name)


def queue_for_source(region: str, queue_name: str, source: str) -> tuple[Any, str]:
    """An SQS queue that a default-bus rule sends every event of `source` to: (sqs client, queue URL)."""
    import boto3

    from tests.access import let_service_send

    sqs = boto3.client("sqs", region_name=region)
    events = boto3.client("events", region_name=region)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    rule = events.put_rule(Name="r", EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    # As on AWS, EventBridge may send to the queue only if the queue's policy lets the rule.
    arn = let_service_send(sqs, url, "events.amazonaws.com", rule)
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    return sqs, url


@dataclass
class FakeTaskTokens:
    """The waiting tasks' tokens by order id (lambdas/logic/requests.py TaskTokens)."""

    kept: dict[str, str] = field(default_factory=dict)

    def keep(self, order_id: str, token: str, expires_at: datetime) -> None:
        self.kept[order_id] = token

    def find(self, order_id: str) -> str | None:
        return self.kept.get(order_id)


@dataclass
class FakeWaitingTasks:
    """SendTaskSuccess / SendTaskFailure: a waiting task's token answers once; `waiting` are the tokens
    of tasks still waiting, `sent` what each answer said."""

    waiting: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, Any]] = field(default_factory=list)
    fail_next: bool = False
    """The next answer raises, as a throttled call would."""

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        return self._answer(token, "success", dict(output))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._answer(token, "failure", (error, cause))

    def _answer(self, token: str, kind: str, what: Any) -> bool:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("ThrottlingException")
        if token not in self.waiting:
            return False
        self.waiting.discard(token)
        self.sent.append((token, kind, what))
        return True


@dataclass
class FakeSagaExecutions:
    """The saga's executions by order id: stopped on a cancellation, compensations started when none runs."""

    running: set[str] = field(default_factory=set)
    stopped: list[str] = field(default_factory=list)
    compensating: list[str] = field(default_factory=list)

    def stop(self, order_id: str) -> bool:
        if order_id not in self.running and order_id not in self.stopped:
            return False
        self.running.discard(order_id)
        self.stopped.append(order_id)
        return True

    def start(self, order_id: str) -> bool:
        self.compensating.append(order_id)
        return True
