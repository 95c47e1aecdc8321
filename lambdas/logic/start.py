"""Starting a saga from an OrderCreated message: validate, record, start the execution once."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError

from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.order import OrderCreated, usable_order_id, validation_reasons
from lambdas.domain.states import SagaState
from lambdas.logic.repository import SagaRepository


class UnusableMessage(Exception):
    """A message we cannot even name a saga after: it must end in the dead-letter queue."""


class ExecutionStarter(Protocol):
    def start(self, order_id: str) -> bool:
        """Start the execution named by the order id; False when it already exists."""
        ...


class StartOutcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


def order_detail(body: str) -> dict[str, Any]:
    """The OrderCreated detail from an SQS body holding the EventBridge event."""
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError:
        raise UnusableMessage("message body is not JSON") from None
    detail = envelope.get("detail") if isinstance(envelope, dict) else None
    if not isinstance(detail, dict):
        raise UnusableMessage("message has no OrderCreated detail object")
    return detail


def start_saga(repository: SagaRepository, starter: ExecutionStarter, body: str, message_id: str) -> StartOutcome:
    detail = order_detail(body)
    order_id = usable_order_id(detail)
    if order_id is None:
        raise UnusableMessage("message has no usable order_id")
    # Most orders are new: write their first events without reading the stream first. The write
    # is conditional on the stream being empty, so a repeat finds out from its refusal.
    saga = repository.new(order_id)
    try:
        order = OrderCreated.model_validate(detail)
    except ValidationError as invalid:
        saga.reject(validation_reasons(invalid), raw_message=body)
        return _save_first(repository, saga, message_id, StartOutcome.REJECTED)
    saga.start(order)
    if _save_first(repository, saga, message_id, StartOutcome.STARTED) is StartOutcome.DUPLICATE:
        saga = repository.load(order_id)
    if saga.state is not SagaState.PENDING_PRESCRIPTION or saga.completed_steps:
        return StartOutcome.DUPLICATE  # the saga is under way or over: never a second one
    # Recorded but maybe not started (a retry after a crash between the two): start it now.
    return StartOutcome.STARTED if starter.start(order_id) else StartOutcome.DUPLICATE


def _save_first(repository: SagaRepository, saga: Any, message_id: str, outcome: StartOutcome) -> StartOutcome:
    try:
        repository.save(saga, causation_id=message_id)
    except ConcurrencyConflict:
        return StartOutcome.DUPLICATE  # a concurrent delivery of the same order got there first
    return outcome
