"""The business metrics a newly applied event stands for (emitted by the projector, once per event)."""

from __future__ import annotations

from dataclasses import dataclass

from lambdas.contract import (
    COMPENSATION_DIMENSION,
    COMPENSATIONS_RUN,
    CONFLICTING_ORDERS,
    ERROR_DIMENSION,
    SAGA_DURATION,
    SAGAS_CANCELLED,
    SAGAS_COMPLETED,
    SAGAS_FAILED,
    SAGAS_PARKED,
    SAGAS_REJECTED,
    SAGAS_STARTED,
    STEPS_GAVE_UP,
    VERIFICATIONS_OVERDUE,
)
from lambdas.domain import events as ev
from lambdas.domain.errors import TRANSIENT_ERRORS
from lambdas.domain.projection import SagaView
from lambdas.domain.states import PENDING_STATES, SagaState

_ENDINGS = {
    SagaState.COMPLETED: SAGAS_COMPLETED,
    SagaState.FAILED: SAGAS_FAILED,
    SagaState.CANCELLED: SAGAS_CANCELLED,
    SagaState.COMPENSATION_FAILED: SAGAS_PARKED,
}


@dataclass(frozen=True)
class Measure:
    name: str
    value: float
    unit: str = "Count"
    dimension: tuple[str, str] | None = None


def measures(event: ev.DomainEvent, view: SagaView) -> list[Measure]:
    match event:
        case ev.OrderFulfillmentSagaStarted():
            return [Measure(SAGAS_STARTED, 1)]
        case ev.OrderRejected():
            return [Measure(SAGAS_REJECTED, 1)]
        case ev.ConflictingOrderReceived():
            return [Measure(CONFLICTING_ORDERS, 1)]
        case ev.PrescriptionVerificationOverdue():
            return [Measure(VERIFICATIONS_OVERDUE, 1)]
        case ev.CompensationRecorded():
            return [Measure(COMPENSATIONS_RUN, 1, dimension=(COMPENSATION_DIMENSION, event.compensation))]
        case ev.OrderFulfillmentSagaStateChanged(
            from_state=from_state, to_state=SagaState.COMPENSATING, reason=reason
        ) if from_state in PENDING_STATES and reason in TRANSIENT_ERRORS:
            return [Measure(STEPS_GAVE_UP, 1, dimension=(ERROR_DIMENSION, str(reason)))]
        case ev.OrderFulfillmentSagaStateChanged() if event.to_state in _ENDINGS:
            ending = [Measure(_ENDINGS[event.to_state], 1)]
            if view.duration_seconds is not None:
                ending.append(Measure(SAGA_DURATION, view.duration_seconds, unit="Seconds"))
            return ending
        case _:
            return []
