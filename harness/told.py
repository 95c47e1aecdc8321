"""What an operator is told, in the CLI and the console alike: a stored event (as JSON with its patient
data named, not shown; in a few words), a duration."""

from __future__ import annotations

from typing import Any

from lambdas.domain.events import StoredEvent, model_for


def seconds(value: float | None) -> str:
    """A duration to the hundredth of a second, or a dash for none (a saga still running)."""
    return "—" if value is None else f"{value:.2f} s"


def event_json(event: StoredEvent, *, with_patient_data: bool) -> dict[str, Any]:
    """A stored event as JSON; its private fields (patient data) are named, not shown, unless asked for."""
    found = event.model_dump(mode="json")
    if not with_patient_data:
        private = sorted(set(model_for(event.type).PRIVATE_FIELDS) & set(found["payload"]))
        found["payload"] = {k: v for k, v in found["payload"].items() if k not in private}
        found["redacted"] = private
    return found


def note(event: StoredEvent) -> str:
    """What an event says, in a few words, without patient data."""
    # An event's private fields (an ignored rejection's reason: the pharmacist's words) are never told.
    private = model_for(event.type).PRIVATE_FIELDS
    payload = {k: v for k, v in event.payload.items() if k not in private}
    if "to_state" in payload:
        return f"{payload.get('from_state') or '—'} → {payload['to_state']}"
    # `why` first: what a request that changed nothing is told by is the saga's reason, not the requester's.
    for key in ("why", "reason", "compensation", "prescription_id", "reservation_id", "shipment_id", "error"):
        if payload.get(key):
            return str(payload[key])
    if "reasons" in payload:
        return "; ".join(payload["reasons"])
    if "differing_fields" in payload:
        differing = ", ".join(payload["differing_fields"]) or "content"
        return f"a different order ({differing}) in message {payload['message_id']}: not started"
    return ""
