"""A client of the pharmacy API that validates each request it sends and each answer it gets against
docs/pharmacy-api.yaml with openapi-core: the tests speak the published contract, not our reading of it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request.exceptions import RequestValidationError

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "pharmacy-api.yaml"
API = OpenAPI.from_file_path(str(CONTRACT))

TOKEN = "reference-token-for-tests"

TRANSIENT = frozenset({408, 429}) | frozenset(range(500, 600))
"""The statuses the contract says to retry with the same key."""

RETRY_AFTER_CAP = 2.0


def lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"medication_id": medication, "quantity": quantity} for medication, quantity in pairs]


@dataclass
class ContractClient:
    url: str
    token: str | None = TOKEN
    timeout: float = 10.0
    sent_keys: list[str | None] = field(default_factory=list)

    def send(
        self, method: str, path: str, key: str | None, body: Any = None, *, outside_contract: bool = False
    ) -> requests.Response:
        """Send one request; its answer must be one the contract allows for it.

        `outside_contract`: the request is one the contract forbids, and the validator must say so."""
        headers = {} if key is None else {"Idempotency-Key": key}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        prepared = requests.Request(method, self.url + path, headers=headers, json=body).prepare()
        if outside_contract:
            with pytest.raises(RequestValidationError):
                API.validate_request(RequestsOpenAPIRequest(prepared))
        else:
            API.validate_request(RequestsOpenAPIRequest(prepared))
        self.sent_keys.append(key)
        with requests.Session() as session:
            response = session.send(prepared, timeout=self.timeout)
        API.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))
        return response

    def send_retrying(
        self, method: str, path: str, key: str, body: Any = None, attempts: int = 5
    ) -> list[requests.Response]:
        """Send until a non-transient answer, with the same key, waiting Retry-After up to a cap."""
        answers: list[requests.Response] = []
        for _ in range(attempts):
            answers.append(self.send(method, path, key, body))
            if answers[-1].status_code not in TRANSIENT:
                break
            time.sleep(min(float(answers[-1].headers.get("Retry-After", "0")), RETRY_AFTER_CAP))
        return answers

    # --- the six operations, with the saga's key per (order, operation) ---

    def create_prescription(
        self, order_id: str, rx_lines: list[dict[str, Any]], patient_id: str = "patient-1", key: str | None = None
    ) -> requests.Response:
        body = {"order_id": order_id, "patient_id": patient_id, "lines": rx_lines}
        return self.send("PUT", f"/prescriptions/rx-{order_id}", key or f"createPrescription:{order_id}", body)

    def cancel_prescription(self, order_id: str, key: str | None = None) -> requests.Response:
        return self.send("POST", f"/prescriptions/rx-{order_id}/cancel", key or f"cancelPrescription:{order_id}")

    def reserve(self, order_id: str, res_lines: list[dict[str, Any]], key: str | None = None) -> requests.Response:
        body = {"order_id": order_id, "lines": res_lines}
        return self.send("PUT", f"/reservations/res-{order_id}", key or f"reserveInventory:{order_id}", body)

    def release(self, order_id: str, key: str | None = None) -> requests.Response:
        return self.send("POST", f"/reservations/res-{order_id}/release", key or f"releaseInventory:{order_id}")

    def create_shipment(
        self, order_id: str, address: dict[str, Any] | None, patient_id: str = "patient-1", key: str | None = None
    ) -> requests.Response:
        body: dict[str, Any] = {"order_id": order_id, "patient_id": patient_id}
        if address is not None:
            body["shipping_address"] = address
        return self.send("PUT", f"/shipments/shp-{order_id}", key or f"createShipment:{order_id}", body)

    def cancel_shipment(self, order_id: str, key: str | None = None) -> requests.Response:
        return self.send("POST", f"/shipments/shp-{order_id}/cancel", key or f"cancelShipment:{order_id}")
