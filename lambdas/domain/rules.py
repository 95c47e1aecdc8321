"""The business rules that make a step fail for real, and the deterministic record ids.

Reasons name the order line by position, never the medication or the address: they end up
in execution history and logs, where patient data must not go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.domain.order import OrderLine, ShippingAddress

SERVICED_COUNTRIES: Mapping[str, re.Pattern[str]] = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
}
"""Country -> the postal code format we can deliver to."""

SHIPS_TO_ORDER_ADDRESS = "order_address"
SHIPS_TO_ADDRESS_ON_FILE = "address_on_file"


@dataclass(frozen=True)
class CatalogueEntry:
    medication_id: str
    max_per_prescription: int


def prescription_id(order_id: str) -> str:
    return f"rx-{order_id}"


def reservation_id(order_id: str) -> str:
    return f"res-{order_id}"


def shipment_id(order_id: str) -> str:
    return f"shp-{order_id}"


def prescription_refusal(lines: list[OrderLine], catalogue: Mapping[str, CatalogueEntry]) -> str | None:
    """Why a prescription cannot be written for these lines, or None if it can."""
    for number, line in enumerate(lines, start=1):
        entry = catalogue.get(line.medication_id)
        if entry is None:
            return f"line {number}: medication is not in the catalogue"
        if line.quantity > entry.max_per_prescription:
            return (
                f"line {number}: quantity {line.quantity} is above the per-prescription "
                f"maximum of {entry.max_per_prescription}"
            )
    return None


def shipment_refusal(address: ShippingAddress | None) -> str | None:
    """Why an order cannot ship to this address, or None. No address ships to the one on file."""
    if address is None:
        return None
    postal_format = SERVICED_COUNTRIES.get(address.country.upper())
    if postal_format is None:
        return "shipping address: country is not serviced"
    if not postal_format.match(address.postal_code.strip().upper()):
        return "shipping address: postal code is malformed for its country"
    return None


def ships_to(address: ShippingAddress | None) -> str:
    return SHIPS_TO_ADDRESS_ON_FILE if address is None else SHIPS_TO_ORDER_ADDRESS
