"""What a saga's stream says of its verification, its cancellation, and the requests that changed nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lambdas.domain import events as ev


@dataclass(frozen=True)
class Verification:
    """The saga's wait for a pharmacist: asked at, until when, and what was decided, when and by whom."""

    requested_at: datetime
    deadline_at: datetime
    decision: str | None = None
    """`verified`, `rejected` or `overdue`; None while the saga waits."""
    decided_at: datetime | None = None
    pharmacist_id: str | None = None
    reason: str | None = None
    """A rejection's reason (the pharmacist's words) or the saga's for an overdue one."""

    def as_json(self) -> dict[str, Any]:
        return {
            "requested_at": self.requested_at.isoformat(),
            "deadline_at": self.deadline_at.isoformat(),
            "decision": self.decision,
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
            "pharmacist_id": self.pharmacist_id,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Unapplied:
    """A pharmacist's answer or a cancellation the saga recorded without effect, and the saga's why."""

    at: datetime
    what: str
    """`verified` or `rejected` (an answer), or `cancellation`."""
    by: str
    """The pharmacist's id for an answer; where a cancellation came from (bus, cli, console)."""
    why: str

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "what": self.what, "by": self.by, "why": self.why}


@dataclass(frozen=True)
class Cancellation:
    """The cancellation the saga accepted: when, its reason, where it came from."""

    at: datetime
    reason: str
    requested_by: str

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "reason": self.reason, "requested_by": self.requested_by}


_DECISIONS = {
    ev.PrescriptionVerified.TYPE_KEY: "verified",
    ev.PrescriptionRejected.TYPE_KEY: "rejected",
    ev.PrescriptionVerificationOverdue.TYPE_KEY: "overdue",
}


def verification(events: list[ev.StoredEvent]) -> Verification | None:
    """The verification the saga asked for, with its decision if one was taken; None when it asked for none."""
    found: Verification | None = None
    for event in events:
        payload = event.payload
        if event.type == ev.PrescriptionVerificationRequested.TYPE_KEY and found is None:
            deadline = ev.PrescriptionVerificationRequested.model_validate(payload).deadline_at
            found = Verification(event.occurred_at, deadline)
        elif event.type in _DECISIONS and found is not None and found.decision is None:
            found = Verification(
                found.requested_at,
                found.deadline_at,
                _DECISIONS[event.type],
                event.occurred_at,
                payload.get("pharmacist_id"),
                payload.get("reason"),
            )
    return found


def unapplied(events: list[ev.StoredEvent]) -> list[Unapplied]:
    """Every answer and cancellation recorded without effect, in order. An ignored rejection's reason is
    private (VerificationAnswerIgnored.PRIVATE_FIELDS): left out."""
    found = []
    for event in events:
        payload = event.payload
        if event.type == ev.VerificationAnswerIgnored.TYPE_KEY:
            found.append(
                Unapplied(
                    event.occurred_at, str(payload["decision"]), str(payload["pharmacist_id"]), str(payload["why"])
                )
            )
        elif event.type == ev.CancellationRefused.TYPE_KEY:
            found.append(
                Unapplied(event.occurred_at, "cancellation", str(payload["requested_by"]), str(payload["why"]))
            )
    return found


def cancellation(events: list[ev.StoredEvent]) -> Cancellation | None:
    for event in events:
        if event.type == ev.CancellationRequested.TYPE_KEY:
            payload = event.payload
            return Cancellation(event.occurred_at, str(payload["reason"]), str(payload["requested_by"]))
    return None
