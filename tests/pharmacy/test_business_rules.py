"""The reference pharmacy refuses what the built-in tables refuse, for the same reasons, by line number.

Expected values come from the demo's catalogue and stock (harness/seed.py: med-2's maximum is 2,
med-scarce has no stock), lambdas/domain/rules.py's serviced countries, and the contract."""

from __future__ import annotations

import pytest

from harness.seed import DEMO_CATALOGUE, DEMO_STOCK
from pharmacy_reference import catalogue
from pharmacy_reference.server import Served
from tests.pharmacy.contract_client import ContractClient, lines

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def test_the_reference_pharmacy_starts_with_the_demos_catalogue_and_stock() -> None:
    assert {med: entry.max_per_prescription for med, entry in catalogue.CATALOGUE.items()} == {
        med: maximum for med, (_, maximum) in DEMO_CATALOGUE.items()
    }
    assert dict(catalogue.STOCK) == DEMO_STOCK


def test_a_prescription_within_the_catalogue_is_created(client: ContractClient) -> None:
    assert client.create_prescription("o-1", lines(("med-1", 3), ("med-2", 2))).status_code == 201


def test_an_unknown_medication_is_refused_with_422_naming_its_line(client: ContractClient, served: Served) -> None:
    answer = client.create_prescription("o-1", lines(("med-1", 1), ("med-unknown-77", 1)))

    assert answer.status_code == 422
    assert answer.json()["reason"].startswith("line 2:")
    assert "med-unknown-77" not in answer.text
    assert served.pharmacy.records() == []  # nothing created


def test_a_quantity_over_the_catalogue_maximum_is_refused_with_422(client: ContractClient) -> None:
    answer = client.create_prescription("o-1", lines(("med-2", 3)))  # med-2: at most 2 per prescription

    assert answer.status_code == 422
    assert answer.json()["reason"].startswith("line 1:")
    assert "med-2" not in answer.text


def test_stock_is_reserved_for_all_lines_or_none(client: ContractClient, served: Served) -> None:
    before = served.pharmacy.stock()

    answer = client.reserve("o-1", lines(("med-1", 2), ("med-scarce", 1)))

    assert answer.status_code == 409
    assert answer.json()["reason"].startswith("line 2:")
    assert "med-scarce" not in answer.text
    assert served.pharmacy.stock() == before  # line 1 was not reserved either


def test_a_medication_without_stock_record_has_none(client: ContractClient) -> None:
    answer = client.reserve("o-1", lines(("med-nowhere", 1)))

    assert answer.status_code == 409
    assert answer.json()["reason"].startswith("line 1:")


def test_reserving_takes_the_stock_of_every_line(client: ContractClient, served: Served) -> None:
    assert client.reserve("o-1", lines(("med-1", 2), ("med-3", 5))).status_code == 201

    stock = served.pharmacy.stock()
    assert (stock["med-1"], stock["med-3"]) == ((498, 2), (495, 5))


@pytest.mark.parametrize(
    "address",
    [
        {**US_ADDRESS, "country": "FR", "postal_code": "75001"},  # a country not serviced
        {**US_ADDRESS, "postal_code": "1234"},  # not a US ZIP code
        {**US_ADDRESS, "country": "GB", "postal_code": "12345"},  # not a UK postcode
    ],
)
def test_an_undeliverable_address_is_refused_with_422(
    client: ContractClient, served: Served, address: dict[str, str]
) -> None:
    answer = client.create_shipment("o-1", address)

    assert answer.status_code == 422
    assert answer.json()["reason"].startswith("shipping address:")
    assert address["postal_code"] not in answer.text
    assert served.pharmacy.records() == []  # nothing created


@pytest.mark.parametrize(
    ("address", "ships_to"),
    [
        (US_ADDRESS, "order_address"),
        ({**US_ADDRESS, "country": "CA", "postal_code": "K1A 0B1"}, "order_address"),
        ({**US_ADDRESS, "country": "GB", "postal_code": "SW1A 1AA", "line2": None}, "order_address"),
        (None, "address_on_file"),  # an order without an address ships to the one on file
    ],
)
def test_a_deliverable_shipment_is_initiated(
    client: ContractClient, address: dict[str, str | None] | None, ships_to: str
) -> None:
    answer = client.create_shipment("o-1", address)

    assert answer.status_code == 201
    assert answer.json() == {"shipment_id": "shp-o-1", "order_id": "o-1", "status": "INITIATED", "ships_to": ships_to}
