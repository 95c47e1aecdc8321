"""The saga's steps and compensations as use cases: load the saga, act, record, answer.

Each function is idempotent: the business write is conditional and the saga records a
step once, so a retried or duplicated invocation returns what the first one did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from lambdas.domain import rules
from lambdas.domain.errors import (
    VERIFICATION_TIMEOUTS,
    BusinessFailure,
    IllegalTransition,
    InventoryReservationFailed,
    PrescriptionFailed,
    SagaNotFound,
    ShipmentInitiationFailed,
)
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import Compensation, SagaState, Step
from lambdas.logic.ports import SagaServices, StreamGuard
from lambdas.logic.repository import stream_id_for

_FAILURE_FOR: dict[Step, type[BusinessFailure]] = {
    Step.CREATE_PRESCRIPTION: PrescriptionFailed,
    Step.RESERVE_INVENTORY: InventoryReservationFailed,
    Step.INITIATE_SHIPMENT: ShipmentInitiationFailed,
}


@dataclass(frozen=True)
class Invocation:
    """What the state machine passes to every task: the order id and the attempt number."""

    order_id: str
    attempt: int = 0
    causation_id: str | None = None
    error: dict[str, Any] | None = None
    """For compensations: the error the failed step was caught with."""


def _load(services: SagaServices, order_id: str) -> OrderFulfillmentSaga:
    saga = services.repository.load(order_id)
    if not saga.exists:
        raise SagaNotFound(f"no saga was started for order {order_id}")
    return saga


def _refuse(
    services: SagaServices, saga: OrderFulfillmentSaga, step: Step, refusal: str | BusinessFailure, call: Invocation
) -> NoReturn:
    """Record the step's failure and raise it: a rule's reason as the step's own failure, a port's
    refusal (an outside system's, its reason untrusted) as it was raised."""
    failure = refusal if isinstance(refusal, BusinessFailure) else _FAILURE_FOR[step](refusal)
    saga.record_step_failed(step, failure.reason, from_outside=failure.from_outside)
    services.repository.save(saga, call.causation_id)
    raise failure


def _patient_id(saga: OrderFulfillmentSaga) -> str:
    if saga.patient_id is None:  # every started saga has one: its OrderCreated required it
        raise IllegalTransition(f"saga {saga.order_id} has no patient")
    return saga.patient_id


def _run_step(services: SagaServices, step: Step, call: Invocation) -> OrderFulfillmentSaga | None:
    """Load the saga for `step`; None when the step has already succeeded (a repeat)."""
    saga = _load(services, call.order_id)
    if step in saga.completed_steps:
        return None
    if saga.failed_step is step:
        # A repeat: the recorded reason may be an outside system's, so it is not the message
        raise _FAILURE_FOR[step](saga.failure_reason or "refused", from_outside=True)
    if saga.state is not step.pending_state:
        raise IllegalTransition(f"saga {saga.order_id} is {saga.state}: {step.console_name} cannot run")
    services.faults.before(step.value, call.order_id, call.attempt)
    return saga


def create_prescription(services: SagaServices, call: Invocation) -> dict[str, str]:
    saga = _run_step(services, Step.CREATE_PRESCRIPTION, call)
    prescription_id = rules.prescription_id(call.order_id)
    if saga is not None:
        if not services.prescriptions.applies_its_own_rules:  # else the pharmacy's catalogue decides
            catalogue = services.catalogue.entries([line.medication_id for line in saga.medications])
            if refusal := rules.prescription_refusal(saga.medications, catalogue):
                _refuse(services, saga, Step.CREATE_PRESCRIPTION, refusal, call)
        try:
            services.prescriptions.create(
                prescription_id, call.order_id, saga.medications, patient_id=_patient_id(saga)
            )
        except PrescriptionFailed as refused:  # the system holding prescriptions said no
            _refuse(services, saga, Step.CREATE_PRESCRIPTION, refused, call)
        saga.record_prescription_created(prescription_id)
        services.repository.save(saga, call.causation_id)
    return {"prescription_id": prescription_id}


def reserve_inventory(services: SagaServices, call: Invocation) -> dict[str, str]:
    saga = _run_step(services, Step.RESERVE_INVENTORY, call)
    reservation_id = rules.reservation_id(call.order_id)
    if saga is not None:
        guard = StreamGuard(stream_id_for(call.order_id), saga.version)
        try:
            services.inventory.reserve(reservation_id, call.order_id, saga.medications, guard)
        except InventoryReservationFailed as refusal:
            _refuse(services, saga, Step.RESERVE_INVENTORY, refusal, call)
        saga.record_inventory_reserved(reservation_id)
        services.repository.save(saga, call.causation_id)
    return {"reservation_id": reservation_id}


def initiate_shipment(services: SagaServices, call: Invocation) -> dict[str, str]:
    saga = _run_step(services, Step.INITIATE_SHIPMENT, call)
    shipment_id = rules.shipment_id(call.order_id)
    if saga is not None:
        # Over the pharmacy's API the carrier decides where it delivers; the built-in list is the tables'.
        refusal = None if services.shipments.applies_its_own_rules else rules.shipment_refusal(saga.shipping_address)
        if refusal:
            _refuse(services, saga, Step.INITIATE_SHIPMENT, refusal, call)
        ships_to = rules.ships_to(saga.shipping_address)
        try:
            services.shipments.initiate(
                shipment_id, call.order_id, ships_to, patient_id=_patient_id(saga), address=saga.shipping_address
            )
        except ShipmentInitiationFailed as refused:  # the carrier said no
            _refuse(services, saga, Step.INITIATE_SHIPMENT, refused, call)
        saga.record_shipment_initiated(shipment_id, ships_to)
        services.repository.save(saga, call.causation_id)
    return {"shipment_id": shipment_id}


def _undo(services: SagaServices, compensation: Compensation, order_id: str) -> bool:
    match compensation:
        case Compensation.CANCEL_SHIPMENT:
            return services.shipments.cancel(rules.shipment_id(order_id))
        case Compensation.CANCEL_PRESCRIPTION:
            return services.prescriptions.cancel(rules.prescription_id(order_id))
        case Compensation.RELEASE_INVENTORY:
            return services.inventory.release(rules.reservation_id(order_id))
        case Compensation.CANCEL_ORDER:
            return True  # the order's cancellation is the OrderCancelled event itself


def compensate(services: SagaServices, call: Invocation, *, compensation: Compensation) -> dict[str, Any]:
    """Undo one step (a no-op if it never happened) and record it; Cancel Order ends the saga."""
    saga = _load(services, call.order_id)
    if compensation not in saga.compensations_done:
        if _reason(call.error) in VERIFICATION_TIMEOUTS:  # no pharmacist answered by the deadline
            saga.record_verification_overdue(datetime.now(UTC))
            services.repository.save(saga, call.causation_id)  # the verdict stands even if the undo fails
        services.faults.before(compensation.value, call.order_id, call.attempt)
        had_effect = _undo(services, compensation, call.order_id)
        saga.record_compensation(compensation, had_effect=had_effect, reason=_reason(call.error))
        services.repository.save(saga, call.causation_id)
    return {"compensation": compensation.value, "state": str(saga.state)}


def record_compensation_failure(services: SagaServices, call: Invocation) -> dict[str, Any]:
    """Park the saga as COMPENSATION_FAILED, naming the compensation that did not go through.

    Compensations run in order, so the one that failed is the first one still remaining.
    """
    saga = _load(services, call.order_id)
    if saga.state is SagaState.COMPENSATION_FAILED:
        return {"state": str(saga.state)}
    remaining = saga.remaining_compensations
    failed = remaining[0] if remaining else Compensation.CANCEL_ORDER
    error = (call.error or {}).get("Error", "Unknown")
    saga.record_compensation_failed(failed, error=str(error), cause=_reason(call.error))
    services.repository.save(saga, call.causation_id)
    return {"state": str(saga.state), "compensation": failed.value}


def _reason(error: dict[str, Any] | None) -> str | None:
    """The error name Step Functions caught; the cause is left out (it may hold a stack trace)."""
    if not error:
        return None
    return str(error.get("Error") or "") or None


def resume(services: SagaServices, call: Invocation) -> dict[str, Any]:
    """Enter the compensations again and name the first one still to run.

    For a parked saga (an operator's `saga resume`) the resumption is recorded; a saga whose
    execution ended unfinished was moved to COMPENSATING by `record_execution_outcome`.
    """
    saga = _load(services, call.order_id)
    remaining = saga.remaining_compensations
    execution = call.causation_id or "unknown"
    if saga.state is not SagaState.COMPENSATING and saga.resumed_by != execution:
        saga.record_resumed(execution_arn=execution)
        services.repository.save(saga, call.causation_id)
    return {"next": (remaining[0] if remaining else Compensation.CANCEL_ORDER).value}
