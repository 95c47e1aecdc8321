"""The Prescriptions, Inventory and Shipments ports over the pharmacy's HTTP API (docs/pharmacy-api.yaml).

Proven by the same contract suites as the DynamoDB adapters (tests/contract/) against the
reference pharmacy; a step's function uses them when its step is configured for HTTP
(infra/pharmacy.py sets its environment; handlers/wiring.py picks the adapter).

What an answer means (pharmacy_http_client.PharmacyClient sorts out the transient and contract
errors): a create's 2xx is done; its 409 with `code: cancelled` is the undo-before-do rule (the
resource was cancelled first), ConcurrencyConflict as the tables raise; its 409 or 422 with
`code: idempotency_key_reused` or `exists_with_other_content` is a contract error (the key's
first request may have created the resource, or it exists: the step is undone as a crashed
one); any other 409 or 422 is a business refusal, the step's own failure with the pharmacy's
reason; its 404 is a contract error (a wrong URL). A cancel's 2xx or 404 is done; it is True
only when this very call undid something (`was_active` and not a replayed answer), as the
tables answer a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lambdas.adapters.pharmacy_http_client import Answer, PharmacyClient
from lambdas.domain.errors import (
    BusinessFailure,
    ConcurrencyConflict,
    InventoryReservationFailed,
    PharmacyContractError,
    PrescriptionFailed,
    ShipmentInitiationFailed,
)
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.logic.ports import EventStore, StreamGuard

CONTRACT_REASON_CHARS = 500
"""The contract's bound on `reason`."""
CANCELLED_CODE = "cancelled"
"""The `code` of a 409 refusing a create whose resource was cancelled first (the undo-before-do rule)."""
KEY_REUSED_CODE = "idempotency_key_reused"
"""The `code` of the 409 or 422 refusing a request whose Idempotency-Key came before with another request."""
OTHER_CONTENT_CODE = "exists_with_other_content"
"""The `code` of the 409 refusing a create of an id that exists with other content."""
MAY_EXIST_CODES = frozenset({KEY_REUSED_CODE, OTHER_CONTENT_CODE})
"""A create refused with one of these may have left its resource behind: not a business refusal."""


def is_cancelled_first(answer: Answer) -> bool:
    return answer.status == 409 and answer.body.get("code") == CANCELLED_CODE


def may_exist(answer: Answer) -> bool:
    return answer.status in (409, 422) and answer.body.get("code") in MAY_EXIST_CODES


def reason_of(answer: Answer) -> str:
    """The refusal's reason, bounded and printable; kept for the saga's record, never logged."""
    reason = answer.body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return f"refused by the pharmacy (HTTP {answer.status})"
    printable = "".join(c if c.isprintable() else " " for c in reason.strip())
    return printable[:CONTRACT_REASON_CHARS]


def _lines(lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    return [{"medication_id": line.medication_id, "quantity": line.quantity} for line in lines]


def _create(
    client: PharmacyClient, operation_id: str, path: str, resource_id: str, body: Any, refusal: type[BusinessFailure]
) -> None:
    answer = client.send(operation_id, "PUT", path, resource_id, body)
    if 200 <= answer.status <= 299:
        return
    if is_cancelled_first(answer):
        raise ConcurrencyConflict(f"{answer.call}: {resource_id} was cancelled before it was created")
    if may_exist(answer):
        # Not a refusal: a refused step did nothing and is not undone, but the key's first request
        # (a create whose answer was lost, sent with the body of an earlier deploy) may have created
        # the resource. As a contract error the saga's crash path undoes this step too.
        raise PharmacyContractError(f"{answer.call}: the resource may exist, created by another request")
    if answer.status in (409, 422):
        raise refusal(reason_of(answer), from_outside=True, answered_by=str(answer.call))
    raise PharmacyContractError(f"{answer.call} on a create")


def _cancel(client: PharmacyClient, operation_id: str, path: str, resource_id: str) -> bool:
    answer: Answer = client.send(operation_id, "POST", path, resource_id)
    if answer.status == 404:
        if answer.empty:
            # A proxy's or a wrong base path's 404 is often bodiless: counting it done would hide an undo.
            raise PharmacyContractError(f"{answer.call} on a cancel, without the JSON body the contract asks of it")
        return False  # never created, and the pharmacy remembers it can no longer be
    if not 200 <= answer.status <= 299:
        # A cancel is never refused: a 409 or 422 (`code: idempotency_key_reused` or none) is a client bug.
        raise PharmacyContractError(f"{answer.call} on a cancel")
    was_active = answer.body.get("was_active")
    if not isinstance(was_active, bool):
        raise PharmacyContractError(f"{answer.call}: a cancel answered without was_active")
    return was_active and not answer.replayed


def _moved_on(events: EventStore, guard: StreamGuard) -> bool:
    return any(event.version > guard.version for event in events.read(guard.stream_id))


class PharmacyPrescriptions:
    applies_its_own_rules = True
    """The pharmacy's catalogue decides (422 naming the line), not the stack's catalogue table."""

    def __init__(self, client: PharmacyClient) -> None:
        self._client = client

    def create(self, prescription_id: str, order_id: str, lines: Sequence[OrderLine], *, patient_id: str) -> None:
        body = {"order_id": order_id, "patient_id": patient_id, "lines": _lines(lines)}
        path = f"/prescriptions/{prescription_id}"
        _create(self._client, "createPrescription", path, prescription_id, body, PrescriptionFailed)

    def cancel(self, prescription_id: str) -> bool:
        return _cancel(self._client, "cancelPrescription", f"/prescriptions/{prescription_id}/cancel", prescription_id)


class PharmacyInventory:
    """The pharmacy's warehouse holds the stock: a reservation is all lines or none there."""

    def __init__(self, client: PharmacyClient, events: EventStore | None = None) -> None:
        self._client = client
        self._events = events

    def reserve(
        self, reservation_id: str, order_id: str, lines: Sequence[OrderLine], guard: StreamGuard | None = None
    ) -> None:
        # A remote warehouse cannot check the guard inside its write, as the table's transaction
        # does: it is checked just before the request, and a reservation the saga moves on from
        # in between is undone by the release its compensation sends, which the pharmacy applies
        # whichever of the two arrives first.
        if guard is not None and self._events is not None and _moved_on(self._events, guard):
            raise ConcurrencyConflict("the saga moved on before the reservation; nothing reserved")
        body = {"order_id": order_id, "lines": _lines(lines)}
        path = f"/reservations/{reservation_id}"
        _create(self._client, "reserveInventory", path, reservation_id, body, InventoryReservationFailed)

    def release(self, reservation_id: str) -> bool:
        return _cancel(self._client, "releaseInventory", f"/reservations/{reservation_id}/release", reservation_id)


class PharmacyShipments:
    applies_its_own_rules = True
    """The carrier decides where it delivers (422), not the built-in list of countries."""

    def __init__(self, client: PharmacyClient) -> None:
        self._client = client

    def initiate(
        self, shipment_id: str, order_id: str, ships_to: str, *, patient_id: str, address: ShippingAddress | None
    ) -> None:
        # The patient, as on the prescription: a pharmacy that runs this step alone never saw the
        # prescription, and needs it to find the address on file (and to ship to the right person).
        body: dict[str, Any] = {"order_id": order_id, "patient_id": patient_id}
        if address is not None:  # without one, the order ships to the address on file
            body["shipping_address"] = address.model_dump(mode="json")
        path = f"/shipments/{shipment_id}"
        _create(self._client, "createShipment", path, shipment_id, body, ShipmentInitiationFailed)

    def cancel(self, shipment_id: str) -> bool:
        return _cancel(self._client, "cancelShipment", f"/shipments/{shipment_id}/cancel", shipment_id)
