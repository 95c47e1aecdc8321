"""Requests the contract forbids get its contract-error answers (401, 400, 404) and change nothing;
the validator the tests rely on refuses an answer outside the contract too (so it can fail)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response.exceptions import ResponseValidationError

from pharmacy_reference.server import Served
from tests.pharmacy.contract_client import API, TOKEN, ContractClient, lines

BODY: dict[str, Any] = {"order_id": "o-1", "patient_id": "patient-1", "lines": lines(("med-1", 1))}


@pytest.mark.parametrize("token", [None, "not-the-token", ""])
def test_a_missing_or_wrong_token_gets_401_and_creates_nothing(served: Served, token: str | None) -> None:
    client = ContractClient(served.url, token=token)

    answer = client.send("PUT", "/prescriptions/rx-o-1", "createPrescription:o-1", BODY, outside_contract=token is None)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert served.pharmacy.records() == []


def test_a_request_without_idempotency_key_gets_400_and_creates_nothing(client: ContractClient, served: Served) -> None:
    answer = client.send("PUT", "/prescriptions/rx-o-1", None, BODY, outside_contract=True)

    assert answer.status_code == 400
    assert served.pharmacy.records() == []


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "shipping_address": None},  # a field the prescription does not carry
        {**BODY, "lines": []},
        {**BODY, "lines": lines(("med-1", 0))},
        {**BODY, "lines": lines(("med-1", 1001))},
        {**BODY, "order_id": "has spaces"},
        {**BODY, "patient_id": "p" * 70_000},  # longer than the contract allows, and than the service reads
    ],
)
def test_a_body_outside_the_contract_gets_400(client: ContractClient, served: Served, body: dict[str, object]) -> None:
    answer = client.send("PUT", "/prescriptions/rx-o-1", "createPrescription:o-1", body, outside_contract=True)

    assert answer.status_code == 400
    assert served.pharmacy.records() == []


def test_a_malformed_resource_id_gets_400(client: ContractClient, served: Served) -> None:
    answer = client.send("PUT", "/prescriptions/rx%20o-1", "createPrescription:o-1", BODY, outside_contract=True)

    assert answer.status_code == 400
    assert served.pharmacy.records() == []


def test_a_path_the_contract_does_not_have_gets_404_with_a_reason(served: Served) -> None:
    # A wrong pharmacy_api_url: the contract's "404 on a create" (a configuration error).
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "k-1"}

    answer = requests.put(served.url + "/v2/prescriptions/rx-o-1", headers=headers, json=BODY, timeout=10)

    assert answer.status_code == 404
    assert set(answer.json()) == {"reason"}


def test_a_medication_on_two_lines_gets_400(client: ContractClient, served: Served) -> None:
    # The contract says so in words (one line per medication): JSON Schema cannot.
    body = {**BODY, "lines": lines(("med-1", 1), ("med-1", 1))}

    answer = client.send("PUT", "/prescriptions/rx-o-1", "createPrescription:o-1", body)

    assert answer.status_code == 400
    assert served.pharmacy.records() == []


def test_the_validator_refuses_an_answer_outside_the_contract(served: Served) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "k-1"}
    prepared = requests.Request("PUT", served.url + "/prescriptions/rx-o-1", headers=headers, json=BODY).prepare()
    answer = requests.Response()
    answer.status_code, answer._content = 201, b'{"prescription_id": "rx-o-1", "status": "SHIPPED"}'
    answer.headers["Content-Type"] = "application/json"

    with pytest.raises(ResponseValidationError):
        API.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(answer))
