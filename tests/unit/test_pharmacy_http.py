"""The HTTP adapters' reading of each answer, against the reference pharmacy and its fault knobs.

Expected values come from docs/pharmacy-api.yaml ("What each status means to the saga", "The
Idempotency-Key header", "Cancel before create") and from the names the state machine's Retry
clause matches (lambdas/domain/errors.py); every request the adapters send is checked against
the OpenAPI file with openapi-core.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import urllib3
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from lambdas.adapters.pharmacy_http import PharmacyInventory, PharmacyPrescriptions, PharmacyShipments
from lambdas.adapters.pharmacy_http_client import PharmacyClient, retry_after_seconds
from lambdas.domain import errors
from lambdas.domain.errors import (
    PharmacyContractError,
    PharmacyUnavailable,
    PrescriptionFailed,
    ShipmentInitiationFailed,
)
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.rules import SHIPS_TO_ADDRESS_ON_FILE, SHIPS_TO_ORDER_ADDRESS
from pharmacy_reference.faults import Faults
from pharmacy_reference.server import Served
from tests.pharmacy.contract_client import API, TOKEN

LINES = [OrderLine(medication_id="med-1", quantity=2)]
PATIENT = "patient-4471-secret"
SHIPMENT_PATIENT = "patient-5582-secret"
"""A patient only a shipment names: a pharmacy running that step alone still learns whose it is."""
ADDRESS = ShippingAddress(line1="742 Evergreen Terrace", city="Springfield", postal_code="12345", country="US")
WAIT = 30.0


class CheckedPool(urllib3.PoolManager):
    """A connection pool that checks every request against docs/pharmacy-api.yaml before sending it."""

    def __init__(self) -> None:
        super().__init__(maxsize=4, retries=False)
        self.sent: list[requests.PreparedRequest] = []

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:  # type: ignore[override]  # records what the client sends
        prepared = requests.Request(method, url, headers=dict(kw.get("headers") or {}), data=kw.get("body")).prepare()
        API.validate_request(RequestsOpenAPIRequest(prepared))
        self.sent.append(prepared)
        return super().urlopen(method, url, redirect=redirect, **kw)


@pytest.fixture
def pool() -> CheckedPool:
    return CheckedPool()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_of(url: str, pool: urllib3.PoolManager, token: str = TOKEN, **options: Any) -> PharmacyClient:
    return PharmacyClient(url, lambda: token, pool=pool, **options)


def test_the_pharmacy_errors_are_named_as_the_state_machine_retries_them() -> None:
    assert errors.PharmacyUnavailable.__name__ in errors.TRANSIENT_ERRORS
    assert issubclass(PharmacyUnavailable, errors.TransientError)
    assert errors.PharmacyContractError.__name__ not in errors.TRANSIENT_ERRORS
    assert not issubclass(PharmacyContractError, errors.TransientError)


def test_503_twice_then_201_is_three_requests_with_one_key_and_one_prescription(
    served: Served, pool: CheckedPool
) -> None:
    served.plan.change(Faults(unavailable_first=2, retry_after_seconds=1))
    sleeps = Sleeps()
    prescriptions = PharmacyPrescriptions(client_of(served.url, pool, sleep=sleeps))

    for _ in range(2):  # what the state machine's Retry does: the same task again
        with pytest.raises(PharmacyUnavailable) as unavailable:
            prescriptions.create("rx-o-1", "o-1", LINES, patient_id=PATIENT)
        assert unavailable.value.retry_after_seconds == 1.0
    prescriptions.create("rx-o-1", "o-1", LINES, patient_id=PATIENT)

    keys = [sent.headers["Idempotency-Key"] for sent in pool.sent]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert [(r.record_id, r.times_created) for r in served.pharmacy.records()] == [("rx-o-1", 1)]
    assert sleeps == [1.0, 1.0], "Retry-After honoured (it is under the cap)"


def test_a_long_retry_after_is_waited_only_up_to_the_cap_and_travels_with_the_error(
    served: Served, pool: CheckedPool
) -> None:
    served.plan.change(Faults(unavailable_first=1, retry_after_seconds=120))
    sleeps = Sleeps()

    with pytest.raises(PharmacyUnavailable) as unavailable:
        PharmacyShipments(client_of(served.url, pool, sleep=sleeps)).cancel("shp-o-1")

    assert unavailable.value.retry_after_seconds == 120.0
    assert "retry after 120s" in str(unavailable.value)
    [slept] = sleeps
    assert 0 < slept <= 5, "a Lambda does not wait two minutes"


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 12, 7, 0, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Mon, 07 Dec 2026 00:00:30 GMT", now=lambda: now) == 30.0
    assert retry_after_seconds("Sun, 06 Dec 2026 23:59:00 GMT", now=lambda: now) == 0.0, "a past date: now"
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_a_wrong_token_is_a_contract_error_on_a_create_and_on_a_cancel(served: Served, pool: CheckedPool) -> None:
    client = client_of(served.url, pool, token="not-the-token")
    with pytest.raises(PharmacyContractError) as create:
        PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id=PATIENT)
    with pytest.raises(PharmacyContractError):
        PharmacyInventory(client).release("res-o-1")
    assert "not-the-token" not in str(create.value)
    assert served.pharmacy.records() == []


def test_a_wrong_url_is_a_contract_error_on_a_create_and_done_on_a_cancel(served: Served) -> None:
    # The contract: a 404 on a create is a configuration error; a cancel's 404 counts as done.
    # (An unchecked pool: these paths are outside the contract on purpose.)
    client = client_of(served.url + "/not-the-api", urllib3.PoolManager(retries=False))
    with pytest.raises(PharmacyContractError):
        PharmacyShipments(client).initiate(
            "shp-o-1", "o-1", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS
        )
    assert PharmacyShipments(client).cancel("shp-o-1") is False


def test_a_create_held_past_the_read_timeout_is_unavailable(served: Served, pool: CheckedPool) -> None:
    served.plan.change(Faults(timeout_rate=1.0, hold_seconds=WAIT))
    client = client_of(served.url, pool, read_timeout=0.3)

    with pytest.raises(PharmacyUnavailable) as unavailable:
        PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id=PATIENT)

    assert "ReadTimeoutError" in str(unavailable.value)


def test_a_response_lost_after_the_work_is_unavailable_and_the_retry_finds_it_done(
    served: Served, pool: CheckedPool
) -> None:
    served.plan.change(Faults(drop_rate=1.0))
    prescriptions = PharmacyPrescriptions(client_of(served.url, pool))
    with pytest.raises(PharmacyUnavailable):
        prescriptions.create("rx-o-1", "o-1", LINES, patient_id=PATIENT)

    served.plan.change(Faults())
    prescriptions.create("rx-o-1", "o-1", LINES, patient_id=PATIENT)

    assert [(r.status, r.times_created) for r in served.pharmacy.records()] == [("ACTIVE", 1)]


def test_a_refused_connection_is_unavailable(pool: CheckedPool) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(PharmacyUnavailable):
        PharmacyPrescriptions(client_of(f"http://127.0.0.1:{port}", pool)).cancel("rx-o-1")


def test_a_422_on_a_create_is_the_steps_business_failure_with_the_pharmacys_reason(
    served: Served, pool: CheckedPool
) -> None:
    client = client_of(served.url, pool)
    with pytest.raises(PrescriptionFailed) as prescription:
        PharmacyPrescriptions(client).create(
            "rx-o-1", "o-1", [OrderLine(medication_id="med-unknown")], patient_id=PATIENT
        )
    abroad = ADDRESS.model_copy(update={"country": "FR"})  # not a serviced country
    with pytest.raises(ShipmentInitiationFailed) as shipment:
        PharmacyShipments(client).initiate("shp-o-2", "o-2", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=abroad)

    assert prescription.value.reason.startswith("line 1:")
    assert shipment.value.reason.startswith("shipping address:")
    assert served.pharmacy.records() == []


def test_a_shipment_names_its_patient_as_the_prescription_does(served: Served, pool: CheckedPool) -> None:
    # Issue 24: with only the shipments step at the pharmacy, the order's patient is how it finds
    # the address on file; ShipmentRequest requires `patient_id` (the pool checks every body).
    shipments = PharmacyShipments(client_of(served.url, pool))
    shipments.initiate("shp-o-1", "o-1", SHIPS_TO_ADDRESS_ON_FILE, patient_id=SHIPMENT_PATIENT, address=None)
    shipments.initiate("shp-o-2", "o-2", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS)

    sent = [json.loads(request.body) for request in pool.sent if isinstance(request.body, bytes)]
    assert [(body["order_id"], body["patient_id"]) for body in sent] == [("o-1", SHIPMENT_PATIENT), ("o-2", PATIENT)]
    assert "shipping_address" not in sent[0]


def test_a_cancel_refused_for_a_reused_key_is_a_contract_error_not_done(served: Served, pool: CheckedPool) -> None:
    # Another request took the key the saga uses for this cancel: the pharmacy answers 422.
    requests.put(
        f"{served.url}/prescriptions/rx-o-1",
        json={"order_id": "o-1", "patient_id": "p", "lines": [{"medication_id": "med-1", "quantity": 1}]},
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "cancelPrescription:rx-o-1"},
        timeout=WAIT,
    ).raise_for_status()

    with pytest.raises(PharmacyContractError):
        PharmacyPrescriptions(client_of(served.url, pool)).cancel("rx-o-1")


def test_one_key_per_order_and_operation_the_same_from_any_client(served: Served) -> None:
    first, again = CheckedPool(), CheckedPool()  # two execution environments: a retry, a resume
    operations: list[Callable[[PharmacyClient], object]] = [
        lambda c: PharmacyPrescriptions(c).create("rx-o-1", "o-1", LINES, patient_id=PATIENT),
        lambda c: PharmacyInventory(c).reserve("res-o-1", "o-1", LINES),
        lambda c: PharmacyShipments(c).initiate(
            "shp-o-1", "o-1", SHIPS_TO_ORDER_ADDRESS, patient_id=PATIENT, address=ADDRESS
        ),
        lambda c: PharmacyShipments(c).cancel("shp-o-1"),
        lambda c: PharmacyInventory(c).release("res-o-1"),
        lambda c: PharmacyPrescriptions(c).cancel("rx-o-1"),
    ]
    for operation in operations:
        operation(client_of(served.url, first))
        operation(client_of(served.url, again))

    keys = served.pharmacy.keys()
    assert len(keys) == 6
    assert all(len(sent) == 1 for sent in keys.values()), "one key per operation, every time"
    assert len(set().union(*keys.values())) == 6, "different between operations"
    assert [p.headers["Idempotency-Key"] for p in first.sent] == [p.headers["Idempotency-Key"] for p in again.sent]


def test_no_patient_data_and_no_reason_in_any_log_line(
    served: Served, pool: CheckedPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_of(served.url, pool)
    PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id=PATIENT)
    PharmacyShipments(client).initiate(
        "shp-o-1", "o-1", SHIPS_TO_ORDER_ADDRESS, patient_id=SHIPMENT_PATIENT, address=ADDRESS
    )
    with pytest.raises(PrescriptionFailed) as refused:
        PharmacyPrescriptions(client).create(
            "rx-o-2", "o-2", [OrderLine(medication_id="med-1", quantity=99)], patient_id=PATIENT
        )

    logged = caplog.text
    host = served.url.removeprefix("http://")
    assert f"createPrescription at {host}: HTTP 201 for rx-o-1" in logged, "the adapter does log, without the data"
    for secret in (PATIENT, SHIPMENT_PATIENT, ADDRESS.line1, ADDRESS.postal_code, refused.value.reason, TOKEN, "med-1"):
        assert secret not in logged


@pytest.mark.parametrize("resource_id", ["rx-../../admin", "rx-o?x=1", "rx-o%2F", "", "rx-" + "o" * 100])
def test_a_resource_id_outside_the_contract_never_becomes_a_request(
    served: Served, pool: CheckedPool, resource_id: str
) -> None:
    with pytest.raises(PharmacyContractError) as refused:
        PharmacyPrescriptions(client_of(served.url, pool)).cancel(resource_id)
    assert pool.sent == []
    assert resource_id not in str(refused.value) or not resource_id


class _Oversized(BaseHTTPRequestHandler):
    """Answers its first request with 200 kB of JSON (keeping the connection open), then small answers."""

    protocol_version = "HTTP/1.1"
    answered = 0

    def do_POST(self) -> None:
        type(self).answered += 1
        big = type(self).answered == 1
        body = json.dumps({"was_active": True, "padding": "x" * (200_000 if big else 0)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except ConnectionError:  # the client stopped reading the oversized answer: as it should
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_an_oversized_answer_is_a_contract_error_and_leaves_nothing_for_the_next_request() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Oversized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = client_of(f"http://127.0.0.1:{server.server_port}", urllib3.PoolManager(maxsize=1, retries=False))
        with pytest.raises(PharmacyContractError, match="over 65536 bytes"):
            PharmacyShipments(client).cancel("shp-o-1")
        assert PharmacyShipments(client).cancel("shp-o-1") is True, "the next answer is read whole and on its own"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_importing_the_adapters_leaves_urllib3_to_their_first_use() -> None:
    # The bench's budget is import time (harness/bench/imports.py); botocore too imports urllib3 on first use.
    modules = "lambdas.adapters.pharmacy_http, lambdas.adapters.pharmacy_token"
    code = f"import sys, {modules}; print('urllib3' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert found.strip() == "False"
