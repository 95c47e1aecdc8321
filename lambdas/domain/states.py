"""Saga states, the legal transitions between them, and the steps with their compensations.

This is the one place that names states, steps and compensations; the state machine's
console names and the Lambda handler names are derived from it.
"""

from __future__ import annotations

from enum import StrEnum


class SagaState(StrEnum):
    ORDER_NOT_RECEIVED = "ORDER_NOT_RECEIVED"
    """A cancellation or a pharmacist's answer arrived for an order id no order was received under (yet):
    kept on its stream, visible, until the order comes (a cancellation then ends it CANCELLED at once)."""
    STARTED = "STARTED"
    PENDING_PRESCRIPTION = "PENDING_PRESCRIPTION"
    PENDING_VERIFICATION = "PENDING_VERIFICATION"
    """The prescription is made and waits for a pharmacist's decision (prescription_verification=pharmacist)."""
    PENDING_INVENTORY = "PENDING_INVENTORY"
    PENDING_SHIPMENT = "PENDING_SHIPMENT"
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"
    FAILED = "FAILED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    """Cancelled on request before its shipment: every completed step undone."""


PENDING_STATES = frozenset(
    {
        SagaState.STARTED,
        SagaState.PENDING_PRESCRIPTION,
        SagaState.PENDING_VERIFICATION,
        SagaState.PENDING_INVENTORY,
        SagaState.PENDING_SHIPMENT,
    }
)
TERMINAL_STATES = frozenset({SagaState.COMPLETED, SagaState.FAILED, SagaState.REJECTED, SagaState.CANCELLED})
PARKED_STATES = frozenset({SagaState.COMPENSATION_FAILED})
"""Not moving, but not finished either: an operator resumes them."""

LEGAL_TRANSITIONS: dict[SagaState | None, frozenset[SagaState]] = {
    None: frozenset({SagaState.STARTED, SagaState.REJECTED}),
    SagaState.ORDER_NOT_RECEIVED: frozenset({SagaState.STARTED, SagaState.REJECTED}),
    SagaState.STARTED: frozenset({SagaState.PENDING_PRESCRIPTION, SagaState.COMPENSATING}),
    SagaState.PENDING_PRESCRIPTION: frozenset(
        {SagaState.PENDING_VERIFICATION, SagaState.PENDING_INVENTORY, SagaState.COMPENSATING}
    ),
    SagaState.PENDING_VERIFICATION: frozenset({SagaState.PENDING_INVENTORY, SagaState.COMPENSATING}),
    SagaState.PENDING_INVENTORY: frozenset({SagaState.PENDING_SHIPMENT, SagaState.COMPENSATING}),
    SagaState.PENDING_SHIPMENT: frozenset({SagaState.COMPLETED, SagaState.COMPENSATING}),
    SagaState.COMPENSATING: frozenset({SagaState.FAILED, SagaState.CANCELLED, SagaState.COMPENSATION_FAILED}),
    SagaState.COMPENSATION_FAILED: frozenset({SagaState.COMPENSATING}),
    SagaState.COMPLETED: frozenset(),
    SagaState.FAILED: frozenset(),
    SagaState.REJECTED: frozenset(),
    SagaState.CANCELLED: frozenset(),
}


def is_legal(source: SagaState | None, target: SagaState) -> bool:
    return target in LEGAL_TRANSITIONS[source]


class Step(StrEnum):
    """The forward steps, in order. The value is the handler's name."""

    CREATE_PRESCRIPTION = "create_prescription"
    RESERVE_INVENTORY = "reserve_inventory"
    INITIATE_SHIPMENT = "initiate_shipment"

    @property
    def console_name(self) -> str:
        return self.value.replace("_", " ").title()

    @property
    def pending_state(self) -> SagaState:
        return _PENDING_STATE[self]


class Compensation(StrEnum):
    """The compensations. The value is the handler's name."""

    CANCEL_SHIPMENT = "cancel_shipment"
    RELEASE_INVENTORY = "release_inventory"
    CANCEL_PRESCRIPTION = "cancel_prescription"
    CANCEL_ORDER = "cancel_order"

    @property
    def console_name(self) -> str:
        return self.value.replace("_", " ").title()


VERIFY_PRESCRIPTION = "Verify Prescription"
"""The state a saga waits in for a pharmacist's decision, between its first two steps
(prescription_verification=pharmacist): as much the saga's work as its steps, for whoever reads its path."""

STEPS: tuple[Step, ...] = (Step.CREATE_PRESCRIPTION, Step.RESERVE_INVENTORY, Step.INITIATE_SHIPMENT)

UNDOES: dict[Step, Compensation | None] = {
    Step.CREATE_PRESCRIPTION: Compensation.CANCEL_PRESCRIPTION,
    Step.RESERVE_INVENTORY: Compensation.RELEASE_INVENTORY,
    # Only ever needed when Initiate Shipment crashed after writing its shipment: once it
    # has recorded the shipment the saga is complete and nothing can fail after it.
    Step.INITIATE_SHIPMENT: Compensation.CANCEL_SHIPMENT,
}
"""Each step registered next to the compensation that undoes it."""

_PENDING_STATE = {
    Step.CREATE_PRESCRIPTION: SagaState.PENDING_PRESCRIPTION,
    Step.RESERVE_INVENTORY: SagaState.PENDING_INVENTORY,
    Step.INITIATE_SHIPMENT: SagaState.PENDING_SHIPMENT,
}


def compensation_plan(steps_to_undo: list[Step] | tuple[Step, ...]) -> list[Compensation]:
    """The compensations for these steps in reverse order, always ending with Cancel Order."""
    plan = [UNDOES[step] for step in reversed(steps_to_undo)]
    return [c for c in plan if c is not None] + [Compensation.CANCEL_ORDER]
