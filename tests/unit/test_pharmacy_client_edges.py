"""The pharmacy client at its edges, found by review: a token that cannot be a header, a rotated token, a
secret that cannot be read, an answer that trickles in, a Retry-After in other digits.

Expected values: RFC 6750 §2.1 (what may follow `Bearer `), docs/pharmacy-api.yaml (401 is a contract
error; transient is retried by the state machine), the Secrets Manager API reference (GetSecretValue's
errors), RFC 9110 §10.2.3 (Retry-After is 1*DIGIT, ASCII digits).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from lambdas.adapters import pharmacy_http_client, pharmacy_token
from lambdas.adapters.pharmacy_calls import Call
from lambdas.adapters.pharmacy_http import PharmacyPrescriptions
from lambdas.adapters.pharmacy_http_client import PharmacyClient, retry_after_seconds
from lambdas.adapters.pharmacy_token import bearer_token
from lambdas.domain.errors import PharmacyContractError, PharmacyUnavailable
from lambdas.domain.order import OrderLine
from pharmacy_reference.server import serve

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

LINES = [OrderLine(medication_id="med-1", quantity=1)]
SECRET_VALUE = "LEAKME-5f1c2e"


@pytest.mark.parametrize(
    "stored",
    [f'{{\n  "token": "{SECRET_VALUE}"\n}}', f"{SECRET_VALUE} extra", f"{SECRET_VALUE}\r\nX-Injected: 1"],
)
def test_a_secret_that_is_not_a_bearer_token_is_refused_without_a_word_of_it(
    secrets: SecretsManagerClient, stored: str
) -> None:
    # (On the old code the JSON document became the header, and http.client's refusal quoted it into the
    # Lambda's error message, so the execution history and the logs.)
    secrets.create_secret(Name="pharmacy/api", SecretString=stored)
    with pytest.raises(PharmacyContractError) as refused:
        bearer_token("pharmacy/api")()
    assert SECRET_VALUE not in str(refused.value)
    assert "bearer token" in str(refused.value)


def test_a_header_the_client_cannot_write_never_quotes_the_token() -> None:
    served = serve("any")
    try:
        client = PharmacyClient(served.url, lambda: f"{SECRET_VALUE}\nX-Injected: 1")
        with pytest.raises(PharmacyContractError) as refused:
            PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id="p-1")
        assert SECRET_VALUE not in str(refused.value)
        assert served.pharmacy.arrivals() == []
    finally:
        served.stop()


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        ("ResourceNotFoundException", PharmacyContractError),
        ("AccessDeniedException", PharmacyContractError),
        ("DecryptionFailure", PharmacyContractError),
        ("InternalServiceError", PharmacyUnavailable),
        ("ThrottlingException", PharmacyUnavailable),
    ],
)
def test_a_secret_that_cannot_be_read_is_a_configuration_error_or_a_transient_one(
    monkeypatch: pytest.MonkeyPatch, code: str, raised: type[Exception]
) -> None:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from botocore.exceptions import ClientError

    class Failing:
        def get(self, *args: Any, **kwargs: Any) -> str:
            try:
                raise ClientError({"Error": {"Code": code, "Message": "about pharmacy/api"}}, "GetSecretValue")
            except ClientError as error:  # as Powertools wraps it: the botocore error stays the context
                raise GetParameterError(str(error))  # noqa: B904 - Powertools' own way

    monkeypatch.setattr(pharmacy_token, "_secrets", lambda: Failing())
    with pytest.raises(raised, match=code):
        bearer_token("pharmacy/api")()


def test_the_real_missing_secret_is_a_configuration_error(secrets: SecretsManagerClient) -> None:
    with pytest.raises(PharmacyContractError, match="ResourceNotFoundException"):
        bearer_token("pharmacy/never-created")()


def test_a_rotated_token_is_read_again_after_a_401_and_the_request_sent_once_more() -> None:
    served = serve("token-2")  # the pharmacy already takes only the rotated token
    calls: list[Call] = []
    try:
        client = PharmacyClient(served.url, lambda: "token-1", fresh_token=lambda: "token-2").observed_by(calls.append)
        PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id="p-1")
        assert [c.status for c in calls] == [401, 201]
        assert [r.status for r in served.pharmacy.records()] == ["ACTIVE"]
    finally:
        served.stop()


def test_a_401_with_no_newer_token_is_a_contract_error_named_as_the_call() -> None:
    served = serve("token-2")
    calls: list[Call] = []
    try:
        client = PharmacyClient(served.url, lambda: "token-1", fresh_token=lambda: "token-1").observed_by(calls.append)
        with pytest.raises(PharmacyContractError, match=r"^createPrescription at \S+: HTTP 401$"):
            PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id="p-1")
        assert [c.status for c in calls] == [401], "sent once: the same token would be refused again"
    finally:
        served.stop()


class _Trickle(BaseHTTPRequestHandler):
    """Answers 201 and then its body one byte every 0.2 s: each read within any read timeout."""

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"prescription_id": "rx-o-1", "order_id": "o-1", "status": "ACTIVE"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.2)

    def log_message(self, *args: Any) -> None:
        return None


def test_an_answer_that_trickles_in_past_the_deadline_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pharmacy_http_client, "ANSWER_DEADLINE_SECONDS", 1.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = PharmacyClient(f"http://127.0.0.1:{server.server_port}", lambda: "t", read_timeout=5.0)
        with pytest.raises(PharmacyUnavailable, match="no answer \\(AnswerTooSlow\\)"):
            PharmacyPrescriptions(client).create("rx-o-1", "o-1", LINES, patient_id="p-1")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("value", ["²", "١٢", "3²"])
def test_a_retry_after_in_other_digits_is_unreadable_not_a_crash(value: str) -> None:
    assert retry_after_seconds(value) is None
