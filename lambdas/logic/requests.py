"""A pharmacist's answers and cancellations: what the order bus asks of a saga, applied or kept with why.

The saga's stream is the truth: a request is first decided and recorded on it, then passed on to
Step Functions (a waiting task's token answered, an execution stopped). A request the saga cannot
act on (no such order yet, not waiting, too late, said twice, after the shipment) is recorded with
the reason it changed nothing, so every request is accounted for.

Task tokens stay inside the stack: kept by order id (TaskTokens), answered by the saga's functions,
never in an event, a log line, an answer or anything the pharmacy sends (it answers by order id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from lambdas.contract import (
    CANCELLATION_REQUESTED,
    CANCELLATION_SOURCE,
    PRESCRIPTION_REJECTED,
    PRESCRIPTION_VERIFIED,
    VERIFICATION_SOURCE,
)
from lambdas.domain import events as ev
from lambdas.domain.errors import PHARMACIST_REJECTED, ConcurrencyConflict, IllegalTransition
from lambdas.domain.intake import UnusableMessage
from lambdas.domain.order import ORDER_ID_PATTERN
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import SagaState
from lambdas.logic.ports import CompensationStarter, SagaExecutionStopper, TaskTokens, WaitingTasks
from lambdas.logic.repository import SagaRepository

ATTEMPTS = 5
"""A request is appended to a stream the running saga appends to as well: retry a lost race."""
TOKEN_KEPT_AFTER_DEADLINE = timedelta(days=1)
"""A kept token expires (DynamoDB TTL) a day after its deadline: Step Functions refuses it by then."""
REJECTED_CAUSE = "rejected by the pharmacist; the reason is kept with the saga"
"""SendTaskFailure's cause (kept in the execution's history): never the pharmacist's own words."""
REQUESTED_BY_BUS = "bus"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
PharmacistId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)

    order_id: str = Field(pattern=ORDER_ID_PATTERN)


class AnswerDetail(_Request):
    pharmacist_id: PharmacistId
    reason: Text | None = None


class CancellationDetail(_Request):
    reason: Text


@dataclass(frozen=True)
class Answer:
    decision: Literal["verified", "rejected"]
    detail: AnswerDetail
    message_id: str


@dataclass(frozen=True)
class Cancellation:
    detail: CancellationDetail
    message_id: str


class Applied(StrEnum):
    APPLIED = "applied"
    """The saga acted on it."""
    KEPT = "kept"
    """Recorded with the reason it changed nothing (or, before its order, kept for it)."""


_DECISIONS: dict[str, Literal["verified", "rejected"]] = {
    PRESCRIPTION_VERIFIED: "verified",
    PRESCRIPTION_REJECTED: "rejected",
}


def read_request(body: str, message_id: str) -> Answer | Cancellation:
    """The request an SQS message (an EventBridge event) holds; UnusableMessage, with a reason that
    names fields only (never their values), when it holds none."""
    try:
        event = json.loads(body)
    except ValueError as error:
        raise UnusableMessage("the message is not JSON") from error
    if not isinstance(event, dict):
        raise UnusableMessage("the message is not an EventBridge event")
    kind = (event.get("source"), event.get("detail-type"))
    detail = event.get("detail")
    try:
        if kind[0] == VERIFICATION_SOURCE and kind[1] in _DECISIONS:
            return Answer(_DECISIONS[str(kind[1])], AnswerDetail.model_validate(detail), message_id)
        if kind == (CANCELLATION_SOURCE, CANCELLATION_REQUESTED):
            return Cancellation(CancellationDetail.model_validate(detail), message_id)
    except ValidationError as invalid:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "detail" for e in invalid.errors()})
        raise UnusableMessage(f"the request's detail is invalid: {', '.join(fields)}") from invalid
    raise UnusableMessage("the event is neither a pharmacist's answer nor a cancellation")


_APPLIED_BY = (ev.PrescriptionVerified, ev.PrescriptionRejected, ev.CancellationRequested)
"""The events a request that the saga acted on (or kept for its order) leaves on the stream."""


def _retried(
    repository: SagaRepository,
    order_id: str,
    decide: Callable[[OrderFulfillmentSaga], bool],
    message_id: str,
) -> tuple[OrderFulfillmentSaga, bool]:
    """Load, decide, save; again from the start when the saga moved on meanwhile. A message recorded
    before (SQS delivers it again when passing it on failed) is not decided twice: what it did stands."""
    for _ in range(ATTEMPTS):
        saga, caused = repository.load_with_causes(order_id, message_id)
        if caused:
            return saga, any(isinstance(event, _APPLIED_BY) for event in caused)
        outcome = decide(saga)
        try:
            repository.save(saga, causation_id=message_id)
        except ConcurrencyConflict:
            continue
        return saga, outcome
    raise ConcurrencyConflict(f"saga {order_id} kept moving on: the request is retried later")


def pass_on_decision(saga: OrderFulfillmentSaga, token: str, tasks: WaitingTasks) -> bool:
    """Answer the waiting task with the saga's recorded decision; False when it waits no more."""
    if saga.verification_decision == "verified":
        return tasks.succeed(token, {"decision": "verified"})
    return tasks.fail(token, PHARMACIST_REJECTED, REJECTED_CAUSE)


def answer(
    repository: SagaRepository,
    tokens: TaskTokens | None,
    tasks: WaitingTasks,
    request: Answer,
    at: datetime | None = None,
) -> Applied:
    """A pharmacist's answer, received `at`: recorded, then passed on to the waiting task. `tokens`
    is None on a stack that waits for no pharmacist: no saga there applies an answer."""
    detail = request.detail
    saga, applied = _retried(
        repository,
        detail.order_id,
        lambda saga: saga.answer_verification(
            request.decision, detail.pharmacist_id, at or datetime.now(UTC), detail.reason
        ),
        request.message_id,
    )
    # Recorded first, so the next step finds the saga verified. Passed on whenever a decision is
    # recorded, not only when this answer made it: a retry of this message after a failed
    # SendTask finds the decision taken already, yet the task may still wait (a closed task answers
    # False). No token yet: the waiting task's function passes the decision on itself when it runs.
    decided = saga.verification_decision in ("verified", "rejected")
    if decided and tokens is not None and (token := tokens.find(detail.order_id)) is not None:
        pass_on_decision(saga, token, tasks)
    return Applied.APPLIED if applied else Applied.KEPT


def cancel(
    repository: SagaRepository,
    stopper: SagaExecutionStopper,
    compensations: CompensationStarter,
    request: Cancellation,
) -> Applied:
    """A cancellation: recorded, then the saga's execution stopped (its end, ABORTED, has the saga's
    remaining compensations run). A saga whose execution is not started yet has them started here;
    should its execution start after all, its first step finds the saga cancelled and does nothing."""
    detail = request.detail
    saga, accepted = _retried(
        repository,
        detail.order_id,
        lambda saga: saga.request_cancellation(detail.reason, requested_by=REQUESTED_BY_BUS),
        request.message_id,
    )
    if saga.state is SagaState.ORDER_NOT_RECEIVED:
        return Applied.KEPT  # kept for its order, which then ends CANCELLED at once
    # Stopped whenever an accepted cancellation is still being carried out, not only when this request
    # was the one accepted: a retry of this message after a failed StopExecution must stop it still.
    under_way = saga.cancellation is not None and saga.state is SagaState.COMPENSATING
    if under_way and not stopper.stop(detail.order_id):
        compensations.start(detail.order_id)
    return Applied.APPLIED if accepted else Applied.KEPT


def wait_for_pharmacist(
    repository: SagaRepository,
    tokens: TaskTokens,
    tasks: WaitingTasks,
    order_id: str,
    token: str,
    deadline_at: datetime,
    causation_id: str | None,
) -> None:
    """The waiting task's function: keep its token, record the request with its deadline; a decision
    recorded before the task began (an answer within the instant) is passed on at once."""
    tokens.keep(order_id, token, deadline_at + TOKEN_KEPT_AFTER_DEADLINE)
    for _ in range(ATTEMPTS):
        saga = repository.load(order_id)
        if saga.verification_decision in ("verified", "rejected"):
            pass_on_decision(saga, token, tasks)
            return
        if saga.state is not SagaState.PENDING_VERIFICATION:
            raise IllegalTransition(f"saga {order_id} is {saga.state}: it does not wait for a pharmacist")
        saga.record_verification_requested(deadline_at)
        try:
            repository.save(saga, causation_id)
        except ConcurrencyConflict:
            continue  # an answer came meanwhile: look again
        return
    raise ConcurrencyConflict(f"saga {order_id} kept moving on while its verification was requested")
