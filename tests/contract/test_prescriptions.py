"""The prescriptions contract, written once, run against the fake, the DynamoDB prescriptions and the
HTTP adapter talking to the reference pharmacy.

Create Prescription may run more than once (a retry, a duplicated task) and its undo, Cancel
Prescription, may run before it (a step that timed out is compensated while its Lambda may
still be running): nothing created may outlive its cancellation.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.business_tables import DynamoDBPrescriptions
from lambdas.adapters.pharmacy_http import PharmacyPrescriptions
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.order import OrderLine
from lambdas.logic.ports import Prescriptions
from localcloud import patches
from tests.concurrency import at_once
from tests.contract import http_pharmacy
from tests.contract.tables import create_table
from tests.fakes import FakePrescriptions

LINES = [OrderLine(medication_id="med-1", quantity=2), OrderLine(medication_id="med-2")]
"""Within the reference pharmacy's catalogue (at most 3 of med-1, 2 of med-2 per prescription)."""
PATIENT = "patient-456"


@pytest.fixture(params=["fake", "dynamodb", "http"])
def prescriptions(request: pytest.FixtureRequest) -> Iterator[Prescriptions]:
    if request.param == "fake":
        yield FakePrescriptions()
        return
    if request.param == "http":
        with http_pharmacy.pharmacy() as (_, client):
            yield PharmacyPrescriptions(client)
        return
    patches.apply_patches()  # DynamoDB as atomic as the real one under threads (localcloud/patches/dynamodb.py)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        yield DynamoDBPrescriptions(dynamodb, create_table(dynamodb, "BusinessTablesPrescriptions", "prescriptions"))


def test_a_created_prescription_is_cancelled_once_and_then_has_nothing_left_to_cancel(
    prescriptions: Prescriptions,
) -> None:
    prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-o") is True
    assert prescriptions.cancel("rx-o") is False


def test_creating_the_same_prescription_again_is_not_an_error_and_creates_nothing_more(
    prescriptions: Prescriptions,
) -> None:
    prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-o") is True, "one prescription, cancelled"
    assert prescriptions.cancel("rx-o") is False


def test_cancelling_a_prescription_never_created_has_no_effect_and_it_can_no_longer_be_created(
    prescriptions: Prescriptions,
) -> None:
    assert prescriptions.cancel("rx-o") is False
    with pytest.raises(ConcurrencyConflict):
        prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-o") is False, "the refused creation created nothing"


def test_a_cancelled_prescription_cannot_be_created_again_by_a_late_step(prescriptions: Prescriptions) -> None:
    prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-o") is True
    with pytest.raises(ConcurrencyConflict):
        prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-o") is False


def test_prescriptions_of_different_orders_are_independent(prescriptions: Prescriptions) -> None:
    prescriptions.create("rx-a", "a", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-b") is False
    prescriptions.create("rx-a", "a", LINES, patient_id=PATIENT)
    assert prescriptions.cancel("rx-a") is True


def test_a_creation_racing_its_cancellation_never_leaves_an_active_prescription_behind(
    prescriptions: Prescriptions,
) -> None:
    ids = [f"rx-race-{n}" for n in range(10)]

    def race(n: int) -> str:
        rx = ids[n // 2]
        if n % 2:
            return "cancelled" if prescriptions.cancel(rx) else "nothing to cancel"
        try:
            prescriptions.create(rx, "o", LINES, patient_id=PATIENT)
        except ConcurrencyConflict:
            return "refused"
        return "created"

    outcomes = at_once(2 * len(ids), race)
    for n in range(len(ids)):
        created, cancelled = outcomes[2 * n], outcomes[2 * n + 1]
        # Either it was created and the cancellation undid it, or the cancellation came first and won.
        assert (created, cancelled) in {("created", "cancelled"), ("refused", "nothing to cancel")}
        assert prescriptions.cancel(ids[n]) is False, "nothing left active"


def test_cancellations_running_at_once_undo_the_prescription_exactly_once(prescriptions: Prescriptions) -> None:
    prescriptions.create("rx-o", "o", LINES, patient_id=PATIENT)
    outcomes = at_once(8, lambda n: prescriptions.cancel("rx-o"))
    assert outcomes.count(True) == 1
