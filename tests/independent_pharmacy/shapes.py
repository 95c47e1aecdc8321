"""The request shapes of docs/pharmacy-api.yaml, checked by hand: a body that does not match is a contract error (400).

Written from the YAML's `components.schemas` and prose only. A refusal names the field, never its
value: a value may be patient data, and every value here came from outside.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

RESOURCE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
MEDICATION_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,255}")
MAX_LINES = 25
MAX_QUANTITY = 1000
ADDRESS_FIELDS = {"line1": (1, 200), "line2": (0, 200), "city": (1, 100), "postal_code": (1, 20), "country": (2, 2)}
"""Address property -> (minLength, maxLength); `line2` alone may be null or absent."""


class ContractError(ValueError):
    """The request does not match the contract: answered 400 with this sentence as the reason."""


Lines = tuple[tuple[str, int], ...]
"""(medication id, quantity) in the order sent: line n of a reason is lines[n - 1]."""
Address = tuple[tuple[str, str | None], ...]
"""The address's fields, in the order of ADDRESS_FIELDS."""


def parse_json(body: bytes) -> Any:
    """The body's JSON; duplicate keys and NaN/Infinity are refused (two readers could see two requests)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ContractError("the body repeats a property")
        return dict(pairs)

    def no_constant(name: str) -> Any:
        raise ContractError("the body holds a number JSON does not have")

    try:
        return json.loads(body, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ContractError("the body is not JSON") from None


def _object(value: Any, where: str, required: set[str], allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractError(f"{where} must be an object")
    if missing := sorted(required - value.keys()):
        raise ContractError(f"{where} lacks {', '.join(missing)}")
    if unknown := len(value.keys() - allowed):
        # additionalProperties: false; an unknown name is outside text, so it is counted, not quoted
        raise ContractError(f"{where} has {unknown} propert{'y' if unknown == 1 else 'ies'} the contract does not")
    return value


def _text(value: Any, where: str, pattern: re.Pattern[str] | None = None, length: tuple[int, int] = (1, 10**6)) -> str:
    if not isinstance(value, str) or not length[0] <= len(value) <= length[1]:
        raise ContractError(f"{where} must be a string of {length[0]} to {length[1]} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise ContractError(f"{where} does not match its pattern")
    return value


def order_id(value: Any) -> str:
    return _text(value, "order_id", ORDER_ID)


def lines(value: Any) -> Lines:
    """`Lines`: 1 to 25 lines, each medication at most once (the YAML's prose: the saga merges repeats)."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LINES:
        raise ContractError(f"lines must be a list of 1 to {MAX_LINES} lines")
    parsed: list[tuple[str, int]] = []
    for number, line in enumerate(value, start=1):
        where = f"line {number}"
        fields = _object(line, where, {"medication_id", "quantity"}, {"medication_id", "quantity"})
        medication = _text(fields["medication_id"], f"{where}: medication_id", MEDICATION_ID)
        quantity = fields["quantity"]
        # JSON Schema's integer: a bool is not one; 2.0 is, by the 2020-12 draft (a number with no fraction)
        if isinstance(quantity, float) and math.isfinite(quantity) and quantity.is_integer():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise ContractError(f"{where}: quantity must be an integer from 1 to {MAX_QUANTITY}")
        if any(medication == seen for seen, _ in parsed):
            raise ContractError(f"{where} repeats the medication of an earlier line")
        parsed.append((medication, quantity))
    return tuple(parsed)


def address(value: Any) -> Address | None:
    """`Address` or null: its fields in a fixed order (None: ship to the address on file)."""
    if value is None:
        return None
    fields = _object(value, "shipping_address", {"line1", "city", "postal_code", "country"}, set(ADDRESS_FIELDS))
    parsed: list[tuple[str, str | None]] = []
    for name, length in ADDRESS_FIELDS.items():
        given = fields.get(name)
        if name == "line2" and given is None:
            parsed.append((name, None))
        else:
            parsed.append((name, _text(given, f"shipping_address.{name}", length=length)))
    return tuple(parsed)


def resource_id_of(value: str, prefix: str, order: str) -> None:
    """The id the saga chose must be `<prefix><order id>` (the YAML: `rx-`, `res-`, `shp-` and the order id)."""
    if value != f"{prefix}{order}":
        raise ContractError(f"the resource id is not {prefix} and the body's order_id")


def prescription_request(body: Any, resource_id: str) -> tuple[str, str, Lines]:
    """`PrescriptionRequest` at `/prescriptions/rx-<order id>`: (order id, patient id, lines)."""
    fields = _object(body, "the body", {"order_id", "patient_id", "lines"}, {"order_id", "patient_id", "lines"})
    order = order_id(fields["order_id"])
    resource_id_of(resource_id, "rx-", order)
    return order, _text(fields["patient_id"], "patient_id", length=(1, 128)), lines(fields["lines"])


def reservation_request(body: Any, resource_id: str) -> tuple[str, Lines]:
    """`ReservationRequest` at `/reservations/res-<order id>`: (order id, lines)."""
    fields = _object(body, "the body", {"order_id", "lines"}, {"order_id", "lines"})
    order = order_id(fields["order_id"])
    resource_id_of(resource_id, "res-", order)
    return order, lines(fields["lines"])


def shipment_request(body: Any, resource_id: str) -> tuple[str, str, Address | None]:
    """`ShipmentRequest` at `/shipments/shp-<order id>`: (order id, patient id, address or None for the one on file)."""
    allowed = {"order_id", "patient_id", "shipping_address"}
    fields = _object(body, "the body", {"order_id", "patient_id"}, allowed)
    order = order_id(fields["order_id"])
    resource_id_of(resource_id, "shp-", order)
    return order, _text(fields["patient_id"], "patient_id", length=(1, 128)), address(fields.get("shipping_address"))
