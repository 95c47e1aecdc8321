"""Domain events: pydantic models, one registry of type keys, the stored envelope, upcasting.

The registry is the one place that maps a type key to its model; replay, the projector
and the publisher all go through it. A model that changes shape bumps `schema_version`
and registers an upcaster from the old shape, so stored history is never rewritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from lambdas.domain import intake
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.states import SagaState

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


OUTSIDE_REASON = "said outside the saga (by the pharmacy's system, a pharmacist or a requester); kept with the saga"
"""What the bus says in place of a reason given outside the saga (`reason_from_outside`): a pharmacy
system's refusal, a pharmacist's rejection, a cancellation's reason. Not "refused by the system": a
cancellation's reason is nobody's refusal."""


class DomainEvent(BaseModel):
    """Base of every event. Subclasses declare their type key and which fields are private."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    TYPE_KEY: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Fields holding patient data: kept in the encrypted event store, never published."""

    order_id: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE_KEY" in cls.__dict__:
            register(cls)

    def public_payload(self) -> Payload:
        """The payload as published on the bus: ids and outcomes, no patient data, and no reason an
        outside system gave (untrusted text that may say anything: kept with the saga, not published)."""
        payload = self.model_dump(mode="json", exclude=set(self.PRIVATE_FIELDS))
        if payload.get("reason_from_outside"):
            payload["reason"] = OUTSIDE_REASON
        return payload


_REGISTRY: dict[str, type[DomainEvent]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register(model: type[DomainEvent]) -> None:
    existing = _REGISTRY.get(model.TYPE_KEY)
    if existing is not None and existing is not model:
        raise ValueError(f"type key {model.TYPE_KEY!r} is already registered to {existing.__name__}")
    _REGISTRY[model.TYPE_KEY] = model


def register_upcaster(type_key: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning a stored payload of `from_version` into `from_version + 1`."""

    def decorator(function: Upcaster) -> Upcaster:
        _UPCASTERS[(type_key, from_version)] = function
        return function

    return decorator


def registered_types() -> dict[str, type[DomainEvent]]:
    return dict(_REGISTRY)


def model_for(type_key: str) -> type[DomainEvent]:
    try:
        return _REGISTRY[type_key]
    except KeyError:
        raise KeyError(f"unknown event type key {type_key!r}") from None


# --- the saga's own events ----------------------------------------------------------------


class OrderFulfillmentSagaStarted(DomainEvent):
    TYPE_KEY = "order_fulfillment_saga.started"
    PRIVATE_FIELDS = frozenset({"patient_id", "medications", "shipping_address", "order_metadata"})

    patient_id: str
    medications: list[OrderLine]
    shipping_address: ShippingAddress | None = None
    order_metadata: dict[str, Any] = Field(default_factory=dict)
    verification_required: bool = False
    """A pharmacist verifies its prescription before anything is reserved (prescription_verification)."""


class OrderFulfillmentSagaStateChanged(DomainEvent):
    TYPE_KEY = "order_fulfillment_saga.state_changed"

    from_state: SagaState | None
    to_state: SagaState
    reason: str | None = None
    reason_from_outside: bool = False
    """The reason is an outside system's (the pharmacy's answer): shown escaped, never published."""


class CompensationRecorded(DomainEvent):
    TYPE_KEY = "order_fulfillment_saga.compensation_recorded"

    compensation: str
    had_effect: bool
    """False when the step being undone had never happened (the compensation was a no-op)."""


class OrderFulfillmentSagaFailed(DomainEvent):
    TYPE_KEY = "order_fulfillment_saga.failed"

    failed_step: str | None
    reason: str
    reason_from_outside: bool = False
    """The reason is an outside system's (the pharmacy's answer): shown escaped, never published."""


class OrderFulfillmentSagaCompleted(DomainEvent):
    TYPE_KEY = "order_fulfillment_saga.completed"


class OrderFulfillmentSagaCancelled(DomainEvent):
    """Cancelled on request before its shipment, every completed step undone."""

    TYPE_KEY = "order_fulfillment_saga.cancelled"

    reason: str
    reason_from_outside: bool = False
    """The reason is the requester's words (an outside system's): shown escaped, never published."""


class CancellationRequested(DomainEvent):
    """A cancellation the saga accepted: it stops and undoes its completed steps."""

    TYPE_KEY = "order_fulfillment_saga.cancellation_requested"

    reason: str
    reason_from_outside: bool = False
    """The reason is the requester's words (an outside system's): shown escaped, never published."""
    requested_by: str
    """Where it came from: `bus` (the order bus's OrderCancellationRequested), `cli`, `console`."""


class CancellationRefused(DomainEvent):
    """A cancellation with no effect on the saga, and why (the shipment is out, or it already ended)."""

    TYPE_KEY = "order_fulfillment_saga.cancellation_refused"

    reason: str
    reason_from_outside: bool = False
    """The reason is the requester's words (an outside system's): shown escaped, never published."""
    requested_by: str
    why: str
    """The saga's own words: why the cancellation changed nothing."""


class RawMessageKept(DomainEvent):
    """A refused message, kept privately: whole, or by its size, digest and prefix (`intake.py`)."""

    PRIVATE_FIELDS = frozenset({"raw_message", "raw_message_sha256", "order_sha256"})

    raw_message: str
    raw_message_bytes: int
    raw_message_sha256: str
    raw_message_truncated: bool
    order_sha256: str
    """The order's content (its detail, canonical): what a later delivery is compared with."""


class OrderRejected(RawMessageKept):
    """An OrderCreated message that failed validation: the reasons (at most 20 kept, each at most
    200 characters; `reasons_total` counts them all) and the raw message, kept privately."""

    TYPE_KEY = "order_fulfillment_saga.rejected"
    SCHEMA_VERSION = 2

    reasons: list[str]
    reasons_total: int


@register_upcaster(OrderRejected.TYPE_KEY, 1)
def _rejected_v1_to_v2(payload: Payload) -> Payload:
    """v1 kept every reason and the raw message whole, with nothing to compare a resend with."""
    raw = payload["raw_message"]
    return {
        **payload,
        **intake.kept_raw_message(raw, whole=True),
        "reasons_total": len(payload["reasons"]),
        "order_sha256": intake.message_order_digest(raw),
    }


class ConflictingOrderReceived(RawMessageKept):
    """A different order under an order id already used (by a saga, or by a rejected order): not
    started, not merged, kept here. Recorded once per distinct content."""

    TYPE_KEY = "order_fulfillment_saga.conflicting_order_received"

    message_id: str
    under_state: SagaState
    """The state of the saga whose order id the delivery reused."""
    differing_fields: list[str]
    """The order fields whose values differ (names only), where the earlier order is known."""
    valid: bool
    """Whether the conflicting order would have passed validation on its own."""


class CompensationFailed(DomainEvent):
    """A compensation still failed after its retries: the saga is parked for an operator."""

    TYPE_KEY = "order_fulfillment_saga.compensation_failed"

    compensation: str
    error: str
    cause: str | None = None


class SagaResumed(DomainEvent):
    """An operator resumed a parked saga's remaining compensations."""

    TYPE_KEY = "order_fulfillment_saga.resumed"
    SCHEMA_VERSION = 2

    execution_arn: str
    """The resume's execution (its name is the ARN's last part: executions.name_of)."""


@register_upcaster(SagaResumed.TYPE_KEY, 1)
def _resumed_v1_to_v2(payload: Payload) -> Payload:
    """v1 kept the execution's ARN under a misleading `execution_name`."""
    upcast = dict(payload)
    upcast["execution_arn"] = upcast.pop("execution_name")
    return upcast


# --- the order's events -------------------------------------------------------------------


class PrescriptionVerificationRequested(DomainEvent):
    """The made prescription waits for a pharmacist's decision until `deadline_at`."""

    TYPE_KEY = "order.prescription_verification_requested"

    prescription_id: str
    deadline_at: datetime


class PrescriptionVerified(DomainEvent):
    TYPE_KEY = "order.prescription_verified"

    prescription_id: str
    pharmacist_id: str


class PrescriptionRejected(DomainEvent):
    """A pharmacist refused the prescription: the saga compensates with the pharmacist's reason."""

    TYPE_KEY = "order.prescription_rejected"

    prescription_id: str
    pharmacist_id: str
    reason: str
    reason_from_outside: bool = True
    """A pharmacist's words: shown escaped, never published."""


class PrescriptionVerificationOverdue(DomainEvent):
    """No pharmacist decided by the deadline: the saga compensates."""

    TYPE_KEY = "order.prescription_verification_overdue"

    prescription_id: str
    deadline_at: datetime
    reason: str
    """The saga's words for it."""


class VerificationAnswerIgnored(DomainEvent):
    """A pharmacist's answer that changed nothing (the saga was not waiting, it came after the deadline,
    or a decision was taken already): kept, with why."""

    TYPE_KEY = "order.prescription_verification_answer_ignored"
    PRIVATE_FIELDS = frozenset({"reason"})

    decision: str
    """`verified` or `rejected`."""
    pharmacist_id: str
    reason: str | None = None
    """A rejection's reason: a pharmacist's words, kept privately."""
    why: str
    """The saga's own words: why the answer changed nothing."""


class PrescriptionCreated(DomainEvent):
    TYPE_KEY = "order.prescription_created"

    prescription_id: str


# A step's refusal is recorded under its own name: the exception raised with it (errors.py) keeps the
# failure's name, which the state machine's Catch clauses, the console and the runbook show.
class PrescriptionRefused(DomainEvent):
    TYPE_KEY = "order.prescription_failed"

    reason: str
    reason_from_outside: bool = False
    """The reason is an outside system's (the pharmacy's answer): shown escaped, never published."""


class InventoryReserved(DomainEvent):
    TYPE_KEY = "order.inventory_reserved"
    PRIVATE_FIELDS = frozenset({"medications"})

    reservation_id: str
    medications: list[OrderLine]


class InventoryReservationRefused(DomainEvent):
    TYPE_KEY = "order.inventory_reservation_failed"

    reason: str
    reason_from_outside: bool = False
    """The reason is an outside system's (the pharmacy's answer): shown escaped, never published."""


class ShipmentInitiated(DomainEvent):
    TYPE_KEY = "order.shipment_initiated"

    shipment_id: str
    ships_to: str
    """`order_address` or `address_on_file`; never the address itself."""


class ShipmentInitiationRefused(DomainEvent):
    TYPE_KEY = "order.shipment_initiation_failed"

    reason: str
    reason_from_outside: bool = False
    """The reason is an outside system's (the pharmacy's answer): shown escaped, never published."""


class PrescriptionCancelled(DomainEvent):
    TYPE_KEY = "order.prescription_cancelled"

    prescription_id: str


class ShipmentCancelled(DomainEvent):
    TYPE_KEY = "order.shipment_cancelled"

    shipment_id: str


class InventoryReleased(DomainEvent):
    TYPE_KEY = "order.inventory_released"

    reservation_id: str


class OrderCancelled(DomainEvent):
    TYPE_KEY = "order.cancelled"

    reason: str
    reason_from_outside: bool = False
    """The reason is an outside system's (the pharmacy's answer): shown escaped, never published."""


# --- the stored envelope ------------------------------------------------------------------


class EventMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    correlation_id: str
    """The order id: every event of one saga shares it."""
    causation_id: str | None = None
    """What caused this event: the message id, execution id or event id before it."""
    source: str


class StoredEvent(BaseModel):
    """One event as the event store holds it: position, time, type, payload, metadata."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    event_id: str
    type: str
    stream_id: str
    version: int
    occurred_at: datetime
    schema_version: int
    payload: Payload
    metadata: EventMetadata

    def to_domain(self) -> DomainEvent:
        """The typed event, upcast from whatever shape it was stored in."""
        model = model_for(self.type)
        payload = dict(self.payload)
        version = self.schema_version
        while version < model.SCHEMA_VERSION:
            upcaster = _UPCASTERS.get((self.type, version))
            if upcaster is None:
                raise ValueError(f"no upcaster for {self.type} v{version} -> v{version + 1}")
            payload = upcaster(payload)
            version += 1
        return model.model_validate(payload)


def new_stored_event(
    event: DomainEvent,
    *,
    stream_id: str,
    version: int,
    causation_id: str | None,
    source: str,
    occurred_at: datetime | None = None,
) -> StoredEvent:
    return StoredEvent(
        event_id=str(uuid.uuid4()),
        type=event.TYPE_KEY,
        stream_id=stream_id,
        version=version,
        occurred_at=occurred_at or datetime.now(UTC),
        schema_version=event.SCHEMA_VERSION,
        payload=event.model_dump(mode="json"),
        metadata=EventMetadata(correlation_id=event.order_id, causation_id=causation_id, source=source),
    )
