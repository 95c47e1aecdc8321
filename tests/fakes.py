"""In-memory stand-ins for the business ports, for logic tests without AWS."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.errors import ConcurrencyConflict, InventoryReservationFailed
from lambdas.domain.order import OrderLine
from lambdas.domain.rules import CatalogueEntry
from lambdas.logic.faults import NO_FAULTS, FaultInjector
from lambdas.logic.ports import StreamGuard
from lambdas.logic.repository import SagaRepository


@dataclass
class FakeCatalogue:
    items: dict[str, CatalogueEntry] = field(default_factory=dict)

    def entries(self, medication_ids: Sequence[str]) -> Mapping[str, CatalogueEntry]:
        return {m: self.items[m] for m in medication_ids if m in self.items}


@dataclass
class FakePrescriptions:
    status: dict[str, str] = field(default_factory=dict)

    def create(self, prescription_id: str, order_id: str, lines: Sequence[OrderLine]) -> None:
        if self.status.setdefault(prescription_id, "ACTIVE") == "CANCELLED":
            raise ConcurrencyConflict("cancelled before it was created")

    def cancel(self, prescription_id: str) -> bool:
        if self.status.setdefault(prescription_id, "CANCELLED") != "ACTIVE":
            return False
        self.status[prescription_id] = "CANCELLED"
        return True


@dataclass
class FakeInventory:
    available: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, tuple[str, list[OrderLine]]] = field(default_factory=dict)

    def reserve(
        self, reservation_id: str, order_id: str, lines: Sequence[OrderLine], guard: StreamGuard | None = None
    ) -> None:
        if reservation_id in self.reservations:
            if self.reservations[reservation_id][0] == "RELEASED":
                raise ConcurrencyConflict("released before it was made")
            return
        for number, line in enumerate(lines, start=1):
            if self.available.get(line.medication_id, 0) < line.quantity:
                raise InventoryReservationFailed(f"line {number}: not enough stock")
        for line in lines:
            self.available[line.medication_id] -= line.quantity
            self.reserved[line.medication_id] = self.reserved.get(line.medication_id, 0) + line.quantity
        self.reservations[reservation_id] = ("RESERVED", list(lines))

    def release(self, reservation_id: str) -> bool:
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
    shipments: dict[str, str] = field(default_factory=dict)
    """The initiated shipments: where each goes."""
    cancelled: set[str] = field(default_factory=set)

    def initiate(self, shipment_id: str, order_id: str, ships_to: str) -> None:
        if shipment_id in self.cancelled:
            raise ConcurrencyConflict("cancelled before it was initiated")
        self.shipments.setdefault(shipment_id, ships_to)

    def cancel(self, shipment_id: str) -> bool:
        self.cancelled.add(shipment_id)
        return self.shipments.pop(shipment_id, None) is not None


@dataclass
class FakeStarter:
    """Starts executions named by order id; as Step Functions, a name already started is refused."""

    started: list[str] = field(default_factory=list)

    def start(self, order_id: str) -> bool:
        if order_id in self.started:
            return False
        self.started.append(order_id)
        return True


@dataclass
class FakeServices:
    event_store: InMemoryEventStore = field(default_factory=InMemoryEventStore)
    catalogue: FakeCatalogue = field(default_factory=FakeCatalogue)
    prescriptions: FakePrescriptions = field(default_factory=FakePrescriptions)
    inventory: FakeInventory = field(default_factory=FakeInventory)
    shipments: FakeShipments = field(default_factory=FakeShipments)
    faults: FaultInjector = field(default_factory=lambda: NO_FAULTS)

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


def create_events_table(dynamodb: Any, name: str = "events") -> None:
    """A table shaped like the event store's (pk string, sk number), on demand."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


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
