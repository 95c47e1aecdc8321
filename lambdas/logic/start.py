"""Starting a saga from an OrderCreated message: validate, record, start the execution once.

An order id names one order. A later delivery of the same order is a duplicate (nothing new);
a different order under a used id (a started saga's, or a rejected order's) is a conflict: it
starts nothing and is recorded on that saga's stream, once per distinct content. A rejected
order's id is spent: a corrected order must be sent under a new order id.
"""

from __future__ import annotations

from enum import StrEnum

from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.intake import Delivery, UnusableMessage, receive
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import SagaState
from lambdas.logic.ports import ExecutionStarter
from lambdas.logic.repository import SagaRepository

__all__ = [
    "MAX_CONFLICTS_RECORDED",
    "StartOutcome",
    "UnusableMessage",
    "receive",
    "start_delivery",
    "start_saga",
]

MAX_CONFLICTS_RECORDED = 20
"""Distinct conflicting orders kept on one saga's stream; more go to the dead-letter queue."""

CONFLICT_ATTEMPTS = 5
"""A conflict is appended to a stream the running saga appends to as well: retry a lost race."""


class StartOutcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CONFLICT = "conflict"
    CANCELLED = "cancelled"
    """The order came after its cancellation: recorded, and ended CANCELLED with no step run."""


def start_saga(
    repository: SagaRepository,
    starter: ExecutionStarter,
    body: str,
    message_id: str,
    *,
    verification_required: bool = False,
) -> StartOutcome:
    """Receive the message (UnusableMessage when it names no usable order id) and start its order."""
    return start_delivery(repository, starter, receive(body, message_id), verification_required=verification_required)


def start_delivery(
    repository: SagaRepository, starter: ExecutionStarter, delivery: Delivery, *, verification_required: bool = False
) -> StartOutcome:
    """`verification_required`: the stack waits for a pharmacist once the prescription is made."""
    # Most orders are new: write their first events without reading the stream first. The write
    # is conditional on the stream being empty, so a repeat (or an order whose cancellation came
    # first) finds out from its refusal.
    saga = repository.new(delivery.order_id)
    try:
        return _receive(repository, starter, saga, delivery, verification_required)
    except ConcurrencyConflict:
        return _delivered_again(repository, starter, delivery, verification_required)


def _receive(
    repository: SagaRepository,
    starter: ExecutionStarter,
    saga: OrderFulfillmentSaga,
    delivery: Delivery,
    verification_required: bool,
) -> StartOutcome:
    """The order's first delivery on `saga` (new, or holding only requests kept for it): start or reject it."""
    if delivery.order is None:
        saga.reject(delivery)
    else:
        saga.start(delivery.order, verification_required=verification_required)
    repository.save(saga, causation_id=delivery.message_id)
    if delivery.order is None:
        return StartOutcome.REJECTED
    if saga.state is SagaState.CANCELLED:
        return StartOutcome.CANCELLED
    return _started(starter, saga, delivery.message_id)


def _started(starter: ExecutionStarter, saga: OrderFulfillmentSaga, message_id: str) -> StartOutcome:
    if saga.state is SagaState.CANCELLED and not saga.completed_steps and saga.step_in_flight is None:
        return StartOutcome.CANCELLED  # cancelled before it came: no execution, ever
    if saga.state is not SagaState.PENDING_PRESCRIPTION or saga.completed_steps:
        return StartOutcome.DUPLICATE  # the saga is under way or over: never a second one
    # Recorded but maybe not started (a retry after a crash between the two): start it now.
    return StartOutcome.STARTED if starter.start(saga.order_id, message_id) else StartOutcome.DUPLICATE


def _delivered_again(
    repository: SagaRepository, starter: ExecutionStarter, delivery: Delivery, verification_required: bool
) -> StartOutcome:
    for _ in range(CONFLICT_ATTEMPTS):
        saga = repository.load(delivery.order_id)
        if not saga.exists:  # only requests that came before the order (a cancellation, an answer)
            try:
                return _receive(repository, starter, saga, delivery, verification_required)
            except ConcurrencyConflict:
                continue
        if saga.is_same_order(delivery):
            if saga.state is SagaState.REJECTED:
                return StartOutcome.DUPLICATE
            return _started(starter, saga, delivery.message_id)
        if delivery.digest in saga.conflicts:
            return StartOutcome.CONFLICT  # recorded already, by an earlier delivery of it
        if len(saga.conflicts) >= MAX_CONFLICTS_RECORDED:
            raise UnusableMessage(f"order id already has {MAX_CONFLICTS_RECORDED} conflicting orders recorded")
        saga.record_conflict(delivery)
        try:
            repository.save(saga, causation_id=delivery.message_id)
        except ConcurrencyConflict:
            continue  # the saga moved on meanwhile: compare again with what it is now
        return StartOutcome.CONFLICT
    raise ConcurrencyConflict(f"saga {delivery.order_id} kept moving on: the conflicting order is retried later")
