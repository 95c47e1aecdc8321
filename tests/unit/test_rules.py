"""The business rules that make each step fail for real."""

from __future__ import annotations

import pytest

from lambdas.domain import rules
from lambdas.domain.order import OrderLine, ShippingAddress

CATALOGUE = {
    "med-1": rules.CatalogueEntry("med-1", max_per_prescription=5),
    "med-2": rules.CatalogueEntry("med-2", max_per_prescription=1),
}


def _address(country: str, postal: str) -> ShippingAddress:
    return ShippingAddress(line1="1 Main St", city="X", postal_code=postal, country=country)


def test_known_medications_within_their_maximum_make_a_prescription() -> None:
    lines = [OrderLine(medication_id="med-1", quantity=5), OrderLine(medication_id="med-2")]
    assert rules.prescription_refusal(lines, CATALOGUE) is None


def test_unknown_medication_is_refused_by_line_number_not_by_name() -> None:
    reason = rules.prescription_refusal([OrderLine(medication_id="med-1"), OrderLine(medication_id="zzz")], CATALOGUE)
    assert reason == "line 2: medication is not in the catalogue"


def test_quantity_above_the_per_prescription_maximum_is_refused() -> None:
    reason = rules.prescription_refusal([OrderLine(medication_id="med-2", quantity=2)], CATALOGUE)
    assert reason is not None
    assert "above the per-prescription maximum of 1" in reason


@pytest.mark.parametrize(
    ("country", "postal"), [("US", "12345"), ("US", "12345-6789"), ("CA", "K1A 0B1"), ("GB", "SW1A 1AA")]
)
def test_serviced_countries_with_well_formed_postal_codes_ship(country: str, postal: str) -> None:
    assert rules.shipment_refusal(_address(country, postal)) is None


def test_a_country_outside_the_serviced_set_does_not_ship() -> None:
    assert rules.shipment_refusal(_address("FR", "75001")) == "shipping address: country is not serviced"


@pytest.mark.parametrize(("country", "postal"), [("US", "1234"), ("US", "ABCDE"), ("CA", "12345")])
def test_a_malformed_postal_code_does_not_ship(country: str, postal: str) -> None:
    assert rules.shipment_refusal(_address(country, postal)) == (
        "shipping address: postal code is malformed for its country"
    )


def test_an_order_without_an_address_ships_to_the_address_on_file() -> None:
    assert rules.shipment_refusal(None) is None
    assert rules.ships_to(None) == rules.SHIPS_TO_ADDRESS_ON_FILE


def test_record_ids_are_deterministic_per_order() -> None:
    assert rules.prescription_id("o-1") == rules.prescription_id("o-1") == "rx-o-1"
    assert rules.reservation_id("o-1") == "res-o-1"
    assert rules.shipment_id("o-1") == "shp-o-1"
