"""What docs/pharmacy-api.yaml's prose promises a pharmacy's implementer, held against what the saga does."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from infra.saga_workflow import COMPENSATION_RETRY, EXECUTION_TIMEOUT, PHARMACY_RETRY, STEP_RETRY, TASK_TIMEOUT
from lambdas.adapters import pharmacy_http_client as client_module
from lambdas.adapters.pharmacy_http import PharmacyInventory, PharmacyShipments
from lambdas.adapters.pharmacy_http_client import PharmacyClient
from lambdas.domain.errors import PharmacyContractError
from lambdas.domain.rules import SHIPS_TO_ADDRESS_ON_FILE
from tests.pharmacy.contract_client import CONTRACT

SPEC: dict[str, Any] = yaml.safe_load(CONTRACT.read_text())
PROSE = " ".join(SPEC["info"]["description"].split())
"""The contract's description with its line breaks folded, as a reader reads it."""


def _seconds(value: float) -> str:
    return f"{value:g}"


def _waits(retry: dict[str, Any]) -> list[str]:
    """The longest wait before each retry (full jitter waits a random time up to it), as Step Functions computes it."""
    interval, rate = float(retry["interval"].to_seconds()), float(retry["backoff_rate"])
    cap = float(retry["max_delay"].to_seconds()) if "max_delay" in retry else float("inf")
    return [_seconds(min(cap, interval * rate**n)) for n in range(int(retry["max_attempts"]))]


def _listed(values: list[str]) -> str:
    return ", ".join(values[:-1]) + f", then {values[-1]}"


def test_the_contract_states_the_clients_timeouts_and_retry_after_cap() -> None:
    assert f"connect timeout of {_seconds(client_module.CONNECT_TIMEOUT_SECONDS)} seconds" in PROSE
    assert f"read timeout of {_seconds(client_module.READ_TIMEOUT_SECONDS)} seconds" in PROSE
    assert f"the whole answer within {_seconds(client_module.ANSWER_DEADLINE_SECONDS)} seconds" in PROSE
    assert f"only up to {_seconds(client_module.RETRY_AFTER_CAP_SECONDS)} seconds" in PROSE
    assert f"{_seconds(TASK_TIMEOUT.to_seconds())}-second task timeout" in PROSE
    assert f"{_seconds(EXECUTION_TIMEOUT.to_minutes())}-minute execution timeout" in PROSE
    assert f"of at most {client_module.MAX_ANSWER_BYTES // 1024} KiB" in PROSE


def test_the_contract_states_the_state_machines_retry_budgets() -> None:
    # max_attempts counts retries after the first attempt (the CDK's RetryProps: "how many times
    # to retry this particular error"), so the attempts are one more.
    steps, compensations = int(STEP_RETRY["max_attempts"]), int(COMPENSATION_RETRY["max_attempts"])
    pharmacy = int(PHARMACY_RETRY["max_attempts"])
    assert f"{pharmacy} retries ({pharmacy + 1} attempts), waiting a random time up to" in PROSE
    assert f"up to {_listed(_waits(PHARMACY_RETRY))} seconds" in PROSE
    assert f"{steps} retries after the first attempt ({steps + 1} attempts)" in PROSE
    assert f"up to {_listed(_waits(STEP_RETRY))} seconds" in PROSE
    assert f"{compensations} retries ({compensations + 1} attempts)" in PROSE
    assert f"up to {_listed(_waits(COMPENSATION_RETRY))} seconds" in PROSE


@dataclass
class Scripted:
    """A pharmacy that answers every request with one (status, body) and records what it was sent."""

    status: int = 200
    body: bytes = b'{"was_active": false}'
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            script.seen.append((self.command, self.path, dict(self.headers.items())))
            self.send_response(script.status)
            self.send_header("Content-Length", str(len(script.body)))
            self.end_headers()
            self.wfile.write(script.body)

        do_PUT = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _client(url: str) -> PharmacyClient:
    return PharmacyClient(url, lambda: "token")


def test_a_cancel_has_no_body_and_the_paths_follow_the_base_urls_path(scripted: tuple[Scripted, str]) -> None:
    script, url = scripted
    assert "the saga sends `Content-Length: 0` and no `Content-Type`" in PROSE
    assert "`https://pharmacy.example/api/prescriptions/rx-o-1`" in PROSE

    PharmacyShipments(_client(url + "/api/")).cancel("shp-o-1")

    [(method, path, headers)] = script.seen
    assert (method, path) == ("POST", "/api/shipments/shp-o-1/cancel")
    assert headers["Content-Length"] == "0"
    assert "Content-Type" not in headers


@pytest.mark.parametrize(
    ("body", "done"),
    [(b"", False), (b'{"reason": "no such reservation"}', True), (b"<html>Not Found</html>", False)],
)
def test_a_cancels_404_is_done_only_with_a_json_object_body(
    scripted: tuple[Scripted, str], body: bytes, done: bool
) -> None:
    script, url = scripted
    script.status, script.body = 404, body
    assert "A `404` whose body is not JSON (a web server's HTML page) or is empty is a contract error" in PROSE

    if done:
        assert PharmacyInventory(_client(url)).release("res-o-1") is False  # done, and it undid nothing
    else:
        with pytest.raises(PharmacyContractError):
            PharmacyInventory(_client(url)).release("res-o-1")


@pytest.mark.parametrize("status", [302, 400, 403, 405, 411, 413, 415])
def test_a_status_the_contract_does_not_list_is_a_contract_error_on_a_create_and_a_cancel(
    scripted: tuple[Scripted, str], status: int
) -> None:
    script, url = scripted
    script.status, script.body = status, json.dumps({"reason": "no"}).encode()
    assert re.search(r"Any status not listed here \(`3xx`, `405`, `411`, `413`, `415`, \.\.\.\)", PROSE)
    cancel_responses = SPEC["paths"]["/shipments/{shipmentId}/cancel"]["post"]["responses"]
    assert "403" in cancel_responses

    shipments = PharmacyShipments(_client(url))
    with pytest.raises(PharmacyContractError):
        shipments.initiate("shp-o-1", "o-1", SHIPS_TO_ADDRESS_ON_FILE, patient_id="p-1", address=None)
    with pytest.raises(PharmacyContractError):
        shipments.cancel("shp-o-1")
