"""`saga order create`: an OrderCreated put on the stack's bus, refused here when start_saga would reject it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from saga_cli import render
from saga_cli.command import JsonFlag, operation, target
from saga_cli.errors import Refused


def _line(index: int, text: str) -> dict[str, Any] | str:
    """One -m value as the order's line `index`. Its refusal names the line as the order model's
    reasons do (medications.0 ...), not the text: a medication id is the patient's data."""
    medication, _, quantity = text.partition(":")
    if not quantity:
        return medication
    if not (quantity.isascii() and quantity.isdecimal()):
        raise typer.BadParameter(
            f"medications.{index}: the quantity after ':' must be a whole number (MED:QUANTITY)", param_hint="'-m'"
        )
    return {"medication_id": medication, "quantity": int(quantity)}


def _refuse_what_start_saga_would(detail: dict[str, Any]) -> None:
    """Validate with the very model start_saga uses; its reasons name fields, never their values."""
    from pydantic import ValidationError

    from lambdas.domain.order import OrderCreated, validation_reasons

    try:
        OrderCreated.model_validate(detail)
    except ValidationError as invalid:
        raise Refused(f"the order would be rejected, nothing sent: {'; '.join(validation_reasons(invalid))}") from None


@operation
def order_create(
    patient_id: Annotated[str, typer.Option("--patient-id", help="The patient's id.")],
    medication: Annotated[
        list[str], typer.Option("--medication", "-m", help="MED or MED:QUANTITY; repeat for more lines.")
    ],
    order_id: Annotated[str | None, typer.Option("--order-id", help="Default: a new unique id.")] = None,
    line1: Annotated[str | None, typer.Option(help="Shipping address line 1 (else: the address on file).")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option(help="Two-letter country code.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Put an OrderCreated event on the stack's bus."""
    from harness.sending import put_order

    detail: dict[str, Any] = {
        "order_id": order_id or f"order-{uuid.uuid4().hex[:12]}",
        "patient_id": patient_id,
        "medications": [_line(n, m) for n, m in enumerate(medication)],
    }
    address = {"line1": line1, "city": city, "postal_code": postal_code, "country": country}
    if any(address.values()):
        detail["shipping_address"] = address
    _refuse_what_start_saga_would(detail)
    result = {"order_id": detail["order_id"], "event_id": put_order(target(), detail)}
    if as_json:
        render.emit_json(result)
    else:
        render.sent(result["order_id"], result["event_id"])
