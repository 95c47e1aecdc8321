"""A create whose Idempotency-Key came before with another body is a contract error, not a refusal.

The reviewer's case (issue 24): a first create answered 201 whose answer was lost, then a retry with
another body (a saga in flight across a deploy that changed the body) meets the pharmacy's `422` with
`code: idempotency_key_reused` (docs/pharmacy-api.yaml, "The Idempotency-Key header"). A business
refusal is not undone (a refused step did nothing), but the first request created the resource: the
adapter must raise PharmacyContractError, the error the state machine's crash path undoes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lambdas.adapters.pharmacy_http import PharmacyInventory, PharmacyPrescriptions, PharmacyShipments
from lambdas.adapters.pharmacy_http_client import PharmacyClient
from lambdas.domain.errors import BusinessFailure, PharmacyContractError
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.rules import SHIPS_TO_ADDRESS_ON_FILE, SHIPS_TO_ORDER_ADDRESS
from pharmacy_reference.server import Served
from tests.pharmacy.contract_client import ContractClient
from tests.unit.test_pharmacy_http import CheckedPool, client_of

KEY_REUSED = "idempotency_key_reused"
"""The code docs/pharmacy-api.yaml gives the 422 of a key reused for a different request (issue 24's review)."""
PATIENT = "patient-7731-secret"
OTHER_PATIENT = "patient-8842-secret"
ADDRESS = ShippingAddress(line1="1 Main St", city="Springfield", postal_code="12345", country="US")

Create = Callable[[PharmacyClient, bool], None]
"""A create of one resource id; the flag picks the first body or another one (what a later deploy sends)."""


def _prescription(client: PharmacyClient, later: bool) -> None:
    patient = OTHER_PATIENT if later else PATIENT
    PharmacyPrescriptions(client).create("rx-o-1", "o-1", [OrderLine(medication_id="med-1")], patient_id=patient)


def _reservation(client: PharmacyClient, later: bool) -> None:
    line = OrderLine(medication_id="med-1", quantity=1 if later else 2)
    PharmacyInventory(client).reserve("res-o-1", "o-1", [line])


def _shipment(client: PharmacyClient, later: bool) -> None:
    # The deploy of 9e83dec's kind: the same order, a body that grew (here: the order's address).
    where = SHIPS_TO_ORDER_ADDRESS if later else SHIPS_TO_ADDRESS_ON_FILE
    PharmacyShipments(client).initiate("shp-o-1", "o-1", where, patient_id=PATIENT, address=ADDRESS if later else None)


CREATES: dict[str, tuple[Create, Callable[[PharmacyClient], bool]]] = {
    "createPrescription": (_prescription, lambda c: PharmacyPrescriptions(c).cancel("rx-o-1")),
    "reserveInventory": (_reservation, lambda c: PharmacyInventory(c).release("res-o-1")),
    "createShipment": (_shipment, lambda c: PharmacyShipments(c).cancel("shp-o-1")),
}
"""operationId (docs/pharmacy-api.yaml) -> its create, and the undo the saga's crash path runs."""


@pytest.mark.parametrize("operation_id", CREATES)
def test_a_create_retried_with_another_body_is_a_contract_error_and_its_resource_can_be_undone(
    served: Served, operation_id: str
) -> None:
    create, cancel = CREATES[operation_id]
    client = client_of(served.url, CheckedPool())
    # Given the first create was done at the pharmacy (its answer lost on the way back)
    create(client, False)

    # When the retry, with the same key, carries another body
    with pytest.raises(PharmacyContractError) as raised:
        create(client, True)

    # Then it is not the step's business refusal (which the saga would not undo) ...
    assert not isinstance(raised.value, BusinessFailure)
    # ... its message names the call, never the pharmacy's words or the patient
    assert str(raised.value).startswith(f"{operation_id} at ")
    assert "HTTP 422" in str(raised.value)
    said = str(raised.value)
    assert PATIENT not in said
    assert OTHER_PATIENT not in said
    assert "used before for a different request" not in said
    # ... and the resource the first request made is still there, and the step's undo undoes it.
    [record] = served.pharmacy.records()
    assert record.status == record.kind.done
    assert cancel(client) is True
    [record] = served.pharmacy.records()
    assert record.status == record.kind.undone


def test_the_reference_pharmacy_answers_a_reused_key_with_its_code(served: Served) -> None:
    client = ContractClient(served.url)  # validates each request and answer against the YAML
    key = "createShipment:shp-o-1"
    body = {"order_id": "o-1", "patient_id": PATIENT}
    assert client.send("PUT", "/shipments/shp-o-1", key, body).status_code == 201

    reused = client.send("PUT", "/shipments/shp-o-1", key, {**body, "patient_id": OTHER_PATIENT})
    another_operation = client.send("POST", "/shipments/shp-o-1/cancel", key)

    assert (reused.status_code, reused.json()["code"]) == (422, KEY_REUSED)
    assert (another_operation.status_code, another_operation.json()["code"]) == (422, KEY_REUSED)
    assert reused.json()["reason"]
    assert OTHER_PATIENT not in reused.text


def test_a_business_refusal_carries_no_code_and_stays_the_steps_refusal(served: Served) -> None:
    # The sibling that must not change: an undeliverable address is refused (422, no code), not a contract error.
    abroad = ADDRESS.model_copy(update={"country": "FR"})
    client = ContractClient(served.url)
    body = {"order_id": "o-2", "patient_id": PATIENT, "shipping_address": abroad.model_dump(mode="json")}
    refused = client.send("PUT", "/shipments/shp-o-2", "createShipment:shp-o-2", body)
    assert refused.status_code == 422
    assert "code" not in refused.json()
    with pytest.raises(BusinessFailure):
        PharmacyShipments(client_of(served.url, CheckedPool())).initiate(
            "shp-o-3", "o-3", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=abroad
        )


FIRST_BODIES: dict[str, tuple[str, dict[str, object]]] = {
    "createPrescription": (
        "/prescriptions/rx-o-1",
        {"order_id": "o-1", "patient_id": PATIENT, "lines": [{"medication_id": "med-1", "quantity": 1}]},
    ),
    "reserveInventory": (
        "/reservations/res-o-1",
        {"order_id": "o-1", "lines": [{"medication_id": "med-1", "quantity": 2}]},
    ),
    "createShipment": ("/shipments/shp-o-1", {"order_id": "o-1", "patient_id": PATIENT}),
}
"""The first bodies `CREATES` sends, as another client (or a forgotten key) sends them: under another key."""


@pytest.mark.parametrize("operation_id", CREATES)
def test_a_create_of_an_id_that_exists_with_other_content_is_a_contract_error_too(
    served: Served, operation_id: str
) -> None:
    # The sibling: the same resource, created under a key the pharmacy no longer ties to the saga's
    # ("a create of an id that exists ... with other content it is refused with 409").
    path, body = FIRST_BODIES[operation_id]
    first = ContractClient(served.url).send("PUT", path, "an-older-key", body)
    assert first.status_code == 201
    create, cancel = CREATES[operation_id]
    client = client_of(served.url, CheckedPool())

    with pytest.raises(PharmacyContractError) as raised:
        create(client, True)

    assert "HTTP 409" in str(raised.value)
    assert cancel(client) is True
    [record] = served.pharmacy.records()
    assert record.status == record.kind.undone
