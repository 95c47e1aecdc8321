"""The shipments contract, written once, run against the fake, the DynamoDB shipments and the HTTP
adapter talking to the reference pharmacy.

Initiate Shipment may run more than once (a retry, a duplicated task) and its undo, Cancel
Shipment, may run before it (a step that timed out is compensated while its Lambda may still
be running): nothing initiated may outlive its cancellation.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.business_tables import DynamoDBShipments
from lambdas.adapters.pharmacy_http import PharmacyShipments
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.order import ShippingAddress
from lambdas.domain.rules import SHIPS_TO_ADDRESS_ON_FILE, SHIPS_TO_ORDER_ADDRESS
from lambdas.logic.ports import Shipments
from localcloud import patches
from tests.concurrency import at_once
from tests.contract import http_pharmacy
from tests.contract.tables import create_table
from tests.fakes import FakeShipments

ADDRESS = ShippingAddress(line1="1 Main St", city="Springfield", postal_code="12345", country="US")
"""Deliverable (lambdas/domain/rules.py serves US postal codes of five digits)."""
PATIENT = "patient-1"


@pytest.fixture(params=["fake", "dynamodb", "http"])
def shipments(request: pytest.FixtureRequest) -> Iterator[Shipments]:
    if request.param == "fake":
        yield FakeShipments()
        return
    if request.param == "http":
        with http_pharmacy.pharmacy() as (_, client):
            yield PharmacyShipments(client)
        return
    patches.apply_patches()  # DynamoDB as atomic as the real one under threads (localcloud/patches/dynamodb.py)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        yield DynamoDBShipments(dynamodb, create_table(dynamodb, "BusinessTablesShipments", "shipments"))


def test_an_initiated_shipment_is_cancelled_once_and_then_has_nothing_left_to_cancel(shipments: Shipments) -> None:
    shipments.initiate("shp-o", "o", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
    assert shipments.cancel("shp-o") is True
    assert shipments.cancel("shp-o") is False


def test_initiating_the_same_shipment_again_is_not_an_error_and_initiates_nothing_more(shipments: Shipments) -> None:
    shipments.initiate("shp-o", "o", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
    shipments.initiate("shp-o", "o", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
    assert shipments.cancel("shp-o") is True, "one shipment, cancelled"
    assert shipments.cancel("shp-o") is False


def test_cancelling_a_shipment_never_initiated_has_no_effect_and_it_can_no_longer_be_initiated(
    shipments: Shipments,
) -> None:
    assert shipments.cancel("shp-o") is False
    with pytest.raises(ConcurrencyConflict):
        shipments.initiate("shp-o", "o", SHIPS_TO_ADDRESS_ON_FILE, patient_id=PATIENT, address=None)
    assert shipments.cancel("shp-o") is False, "the refused initiation initiated nothing"


def test_a_cancelled_shipment_cannot_be_initiated_again_by_a_late_step(shipments: Shipments) -> None:
    shipments.initiate("shp-o", "o", SHIPS_TO_ADDRESS_ON_FILE, patient_id=PATIENT, address=None)
    assert shipments.cancel("shp-o") is True
    with pytest.raises(ConcurrencyConflict):
        shipments.initiate("shp-o", "o", SHIPS_TO_ADDRESS_ON_FILE, patient_id=PATIENT, address=None)
    assert shipments.cancel("shp-o") is False


def test_shipments_of_different_orders_are_independent(shipments: Shipments) -> None:
    shipments.initiate("shp-a", "a", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
    assert shipments.cancel("shp-b") is False
    shipments.initiate("shp-a", "a", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
    assert shipments.cancel("shp-a") is True


def test_an_initiation_racing_its_cancellation_never_leaves_a_shipment_behind(shipments: Shipments) -> None:
    ids = [f"shp-race-{n}" for n in range(10)]

    def race(n: int) -> str:
        shipment = ids[n // 2]
        if n % 2:
            return "cancelled" if shipments.cancel(shipment) else "nothing to cancel"
        try:
            shipments.initiate(shipment, "o", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
        except ConcurrencyConflict:
            return "refused"
        return "initiated"

    outcomes = at_once(2 * len(ids), race)
    for n in range(len(ids)):
        initiated, cancelled = outcomes[2 * n], outcomes[2 * n + 1]
        # Either it was initiated and the cancellation undid it, or the cancellation came first and won.
        assert (initiated, cancelled) in {("initiated", "cancelled"), ("refused", "nothing to cancel")}
        assert shipments.cancel(ids[n]) is False, "nothing left initiated"


def test_cancellations_running_at_once_undo_the_shipment_exactly_once(shipments: Shipments) -> None:
    shipments.initiate("shp-o", "o", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)
    outcomes = at_once(8, lambda n: shipments.cancel("shp-o"))
    assert outcomes.count(True) == 1
