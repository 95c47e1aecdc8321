"""The composition root picks, per function, the pharmacy's API when its environment names one
(infra/functions.py sets it on the configured steps only), and the built-in tables otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas import config
from lambdas.adapters import aws_services, pharmacy_token
from lambdas.adapters.business_tables import DynamoDBInventory, DynamoDBPrescriptions, DynamoDBShipments
from lambdas.adapters.pharmacy_http import PharmacyInventory, PharmacyPrescriptions, PharmacyShipments
from lambdas.domain.order import OrderLine
from lambdas.handlers import wiring
from lambdas.handlers.wiring import LambdaServices
from pharmacy_reference.server import Served, serve

TOKEN = "wiring-token"
SECRET = "pharmacy/api-token"


@pytest.fixture(autouse=True)
def new_execution_environment() -> Iterator[None]:
    """Each test sets its function's environment: its settings are read afresh, as a new environment's."""
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The reference pharmacy, and its token in a (moto) Secrets Manager secret."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for cached in (aws_services.client, pharmacy_token._secrets, wiring._pharmacy_client):
        cached.cache_clear()
    served = serve(TOKEN)
    try:
        with mock_aws():
            boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=SECRET, SecretString=TOKEN)
            yield served
    finally:
        served.stop()
        for cached in (aws_services.client, pharmacy_token._secrets, wiring._pharmacy_client):
            cached.cache_clear()


def _tables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (
        "EVENT_STORE_TABLE",
        "PRESCRIPTIONS_TABLE",
        "INVENTORY_TABLE",
        "RESERVATIONS_TABLE",
        "SHIPMENTS_TABLE",
    ):
        monkeypatch.setenv(variable, variable.lower())


def test_without_the_pharmacy_variables_the_steps_use_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("PHARMACY_API_URL", raising=False)
    monkeypatch.delenv("PHARMACY_API_SECRET", raising=False)
    _tables(monkeypatch)
    services = LambdaServices("test")
    assert isinstance(services.prescriptions, DynamoDBPrescriptions)
    assert isinstance(services.inventory, DynamoDBInventory)
    assert isinstance(services.shipments, DynamoDBShipments)


def test_with_them_the_steps_call_the_pharmacy_with_the_secrets_token(
    monkeypatch: pytest.MonkeyPatch, reference: Served
) -> None:
    monkeypatch.setenv("PHARMACY_API_URL", reference.url)
    monkeypatch.setenv("PHARMACY_API_SECRET", SECRET)
    _tables(monkeypatch)  # present or not, the pharmacy's API wins for a function configured with it
    services, other = LambdaServices("test"), LambdaServices("test")
    assert isinstance(services.prescriptions, PharmacyPrescriptions)
    assert isinstance(services.inventory, PharmacyInventory)
    assert isinstance(other.shipments, PharmacyShipments)
    # One connection pool per process and API, whichever function's services ask.
    assert services.prescriptions._client._pool is other.shipments._client._pool

    # The reference pharmacy refuses a request without its token (401): this one got through.
    services.prescriptions.create("rx-o-1", "o-1", [OrderLine(medication_id="med-1")], patient_id="p-1")
    assert [(r.kind.name, r.record_id, r.status) for r in reference.pharmacy.records()] == [
        ("PRESCRIPTION", "rx-o-1", "ACTIVE")
    ]


@pytest.mark.parametrize("present", ["PHARMACY_API_URL", "PHARMACY_API_SECRET"])
def test_one_pharmacy_variable_without_the_other_is_a_deployment_fault(
    monkeypatch: pytest.MonkeyPatch, present: str
) -> None:
    monkeypatch.delenv("PHARMACY_API_URL", raising=False)
    monkeypatch.delenv("PHARMACY_API_SECRET", raising=False)
    monkeypatch.setenv(present, "x")
    with pytest.raises(config.MissingSetting, match="go together"):
        config.pharmacy_api()
