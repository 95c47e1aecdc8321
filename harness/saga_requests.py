"""What an operator asks of a running saga (a pharmacist's answer, a cancellation): put on the order bus as a
pharmacy puts it, then read back from the saga's stream what the saga recorded of it (CLI and console alike)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import HarnessError, Refused
from harness.waiting import poll
from infra import names
from lambdas.contract import (
    CANCELLATION_REQUESTED,
    CANCELLATION_SOURCE,
    PRESCRIPTION_REJECTED,
    PRESCRIPTION_VERIFIED,
    VERIFICATION_SOURCE,
)
from lambdas.domain import events as ev
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import SagaState
from lambdas.logic.repository import stream_id_for

if TYPE_CHECKING:
    from harness.target import Target

Kind = Literal["verify", "reject", "cancel"]
KINDS: tuple[Kind, ...] = ("verify", "reject", "cancel")

APPLIED = "applied"
KEPT_FOR_ORDER = "kept_for_order"
"""A cancellation that came before its order: kept, and the order ends CANCELLED when it comes."""
CHANGED_NOTHING = "changed_nothing"


class RequestNotAccepted(HarnessError):
    """EventBridge refused the entry (PutEvents reports it in FailedEntryCount, not as an error)."""


@dataclass(frozen=True)
class Request:
    """One request as the order bus carries it. Built by `request`, which refuses what the saga would."""

    kind: Kind
    order_id: str
    pharmacist_id: str | None = None
    reason: str | None = None

    @property
    def source(self) -> str:
        return CANCELLATION_SOURCE if self.kind == "cancel" else VERIFICATION_SOURCE

    @property
    def detail_type(self) -> str:
        return {"verify": PRESCRIPTION_VERIFIED, "reject": PRESCRIPTION_REJECTED}.get(self.kind, CANCELLATION_REQUESTED)

    @property
    def detail(self) -> dict[str, Any]:
        found: dict[str, Any] = {"order_id": self.order_id}
        if self.pharmacist_id is not None:
            found["pharmacist_id"] = self.pharmacist_id
        if self.reason is not None:
            found["reason"] = self.reason
        return found

    def outcome_of(self, event: ev.StoredEvent) -> str | None:
        """APPLIED or CHANGED_NOTHING when `event` is what the saga recorded of this request; else None."""
        payload = event.payload
        if self.kind == "cancel":
            if payload.get("reason") != self.reason:
                return None
            return {ev.CancellationRequested.TYPE_KEY: APPLIED, ev.CancellationRefused.TYPE_KEY: CHANGED_NOTHING}.get(
                event.type
            )
        if payload.get("pharmacist_id") != self.pharmacist_id:
            return None
        decision = "verified" if self.kind == "verify" else "rejected"
        if event.type == ev.VerificationAnswerIgnored.TYPE_KEY and payload.get("decision") == decision:
            return CHANGED_NOTHING
        applied = ev.PrescriptionVerified if self.kind == "verify" else ev.PrescriptionRejected
        return APPLIED if event.type == applied.TYPE_KEY else None


def request(kind: Kind, order_id: str, *, pharmacist_id: str | None = None, reason: str | None = None) -> Request:
    """The request as the saga reads it (its own models: values stripped), or Refused naming what the saga
    would refuse, by field (never quoting it: a reason may say anything)."""
    from pydantic import ValidationError

    from lambdas.logic.requests import AnswerDetail, CancellationDetail

    detail: dict[str, Any] = {"order_id": order_id}
    if kind != "cancel":
        detail["pharmacist_id"] = pharmacist_id or ""
    if kind != "verify":
        detail["reason"] = reason or ""
    try:
        read = (CancellationDetail if kind == "cancel" else AnswerDetail).model_validate(detail)
    except ValidationError as invalid:
        problems = [f"{_OPTIONS.get(str(e['loc'][0]), 'detail')}: {e['msg']}" for e in invalid.errors()]
        raise Refused(f"nothing sent, the saga would refuse it: {'; '.join(problems)}") from None
    return Request(kind, read.order_id, getattr(read, "pharmacist_id", None), read.reason)


_OPTIONS = {"order_id": "the order id", "pharmacist_id": "the pharmacist id", "reason": "the reason"}


@dataclass(frozen=True)
class Outcome:
    """What the saga recorded of a request: APPLIED, CHANGED_NOTHING (with the saga's why) or None (not yet)."""

    request: Request
    event_id: str
    recorded: str | None
    event_type: str | None = None
    why: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.request.order_id,
            "request": self.request.kind,
            "event_id": self.event_id,
            "recorded": self.recorded,
            "event": self.event_type,
            "why": self.why,
        }


def _order_not_received(order_id: str, history: list[ev.StoredEvent]) -> bool:
    """Whether the saga's stream holds requests only, its order not received yet."""
    saga = OrderFulfillmentSaga.from_history(order_id, (e.to_domain() for e in history))
    return saga.state is SagaState.ORDER_NOT_RECEIVED


def put_request(target: Target, sent: Request) -> str:
    """Put the request on the stack's order bus: the event's id."""
    response = target.client("events").put_events(
        Entries=[
            {
                "Source": sent.source,
                "DetailType": sent.detail_type,
                "Detail": json.dumps(sent.detail),
                "EventBusName": target.output(names.OUTPUT_EVENT_BUS),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise RequestNotAccepted(f"PutEvents refused it: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    return str(response["Entries"][0]["EventId"])


def send(target: Target, sent: Request, wait: float) -> Outcome:
    """Put the request on the bus, then wait up to `wait` seconds for the saga to record it."""
    store = target.event_store()
    stream = stream_id_for(sent.order_id)
    # Only what is recorded after sending can be this request's record: an earlier identical request's is not.
    before = max((e.version for e in store.read(stream)), default=0)
    event_id = put_request(target, sent)

    def recorded() -> Outcome | None:
        history = store.read(stream)
        for event in history:
            if event.version > before and (found := sent.outcome_of(event)) is not None:
                why = event.payload.get("why") if found == CHANGED_NOTHING else None
                if found == APPLIED and _order_not_received(sent.order_id, history):
                    found = KEPT_FOR_ORDER
                return Outcome(sent, event_id, found, event.type, None if why is None else str(why))
        return None

    return poll(recorded, wait, pause=lambda: 0.2) or Outcome(sent, event_id, None)
