"""The saga read model: one row per order, folded from the event stream, idempotent by version."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from lambdas.domain import events as ev
from lambdas.domain.states import PARKED_STATES, TERMINAL_STATES, SagaState, Step


class SagaView(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    order_id: str
    state: SagaState
    version: int
    """The last event version applied: an event at or below it is a repeat and is skipped."""
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    duration_seconds: float | None = None
    steps_completed: tuple[str, ...] = ()
    compensations_run: tuple[str, ...] = ()
    failed_step: str | None = None
    failure_reason: str | None = None
    conflicting_orders: int = 0
    """Different orders received under this order id, recorded on its stream and not started."""


class VersionGap(Exception):
    """An event arrived before one it follows: the row must be rebuilt from the stream."""


def apply(view: SagaView | None, stored: ev.StoredEvent) -> SagaView | None:  # noqa: C901 - a branch per event
    """The view after `stored`; the same view when the event was already applied."""
    if view is not None and stored.version <= view.version:
        return view
    expected = 1 if view is None else view.version + 1
    if stored.version != expected:
        raise VersionGap(f"{stored.stream_id}: got version {stored.version}, expected {expected}")
    event = stored.to_domain()
    at = stored.occurred_at
    if view is None:
        view = SagaView(order_id=event.order_id, state=_first_state(event), version=0, started_at=at, updated_at=at)
    changes: dict[str, object] = {"version": stored.version, "updated_at": at}
    match event:
        case ev.OrderFulfillmentSagaStarted() if view.state is SagaState.ORDER_NOT_RECEIVED:
            changes.update(state=SagaState.STARTED, started_at=at)  # the order came after a request for it
        case ev.OrderRejected():
            changes["failure_reason"] = "; ".join(event.reasons)
            changes["state"] = SagaState.REJECTED
        case ev.OrderFulfillmentSagaStateChanged():
            changes["state"] = event.to_state
            if event.to_state in TERMINAL_STATES | PARKED_STATES:
                changes["ended_at"] = at
                changes["duration_seconds"] = round((at - view.started_at).total_seconds(), 3)
            elif view.ended_at is not None:  # a parked saga resumed
                changes["ended_at"] = None
                changes["duration_seconds"] = None
        case ev.PrescriptionCreated() | ev.InventoryReserved() | ev.ShipmentInitiated():
            changes["steps_completed"] = (*view.steps_completed, _STEP_OF[type(event)])
        case ev.PrescriptionRefused() | ev.InventoryReservationRefused() | ev.ShipmentInitiationRefused():
            changes["failed_step"] = _STEP_OF[type(event)]
            changes["failure_reason"] = event.reason
        case ev.CompensationRecorded():
            changes["compensations_run"] = (*view.compensations_run, event.compensation)
        case ev.OrderFulfillmentSagaFailed() | ev.OrderFulfillmentSagaCancelled():
            changes["failure_reason"] = event.reason
        case ev.ConflictingOrderReceived():
            changes["conflicting_orders"] = view.conflicting_orders + 1
        case _:
            pass
    if isinstance(event, ev.OrderRejected):
        changes["ended_at"] = at
        changes["duration_seconds"] = 0.0
    return view.model_copy(update=changes)


def _first_state(event: ev.DomainEvent) -> SagaState:
    """A stream begins with its order (started or rejected) or, before it, a request kept for it."""
    match event:
        case ev.OrderRejected():
            return SagaState.REJECTED
        case ev.OrderFulfillmentSagaStarted():
            return SagaState.STARTED
        case _:
            return SagaState.ORDER_NOT_RECEIVED


_STEP_OF: dict[type[ev.DomainEvent], str] = {
    ev.PrescriptionCreated: Step.CREATE_PRESCRIPTION.value,
    ev.PrescriptionRefused: Step.CREATE_PRESCRIPTION.value,
    ev.InventoryReserved: Step.RESERVE_INVENTORY.value,
    ev.InventoryReservationRefused: Step.RESERVE_INVENTORY.value,
    ev.ShipmentInitiated: Step.INITIATE_SHIPMENT.value,
    ev.ShipmentInitiationRefused: Step.INITIATE_SHIPMENT.value,
}


def rebuild(history: list[ev.StoredEvent]) -> SagaView | None:
    view: SagaView | None = None
    for stored in history:
        view = apply(view, stored)
    return view
