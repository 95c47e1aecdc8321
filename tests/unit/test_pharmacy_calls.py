"""What a call to the pharmacy's API is counted as, and its record read back from an execution history.

The expected meanings are issue 24's (and docs/pharmacy-api.yaml's): 2xx done; 409/422 a business refusal;
408, 429, 5xx and no answer transient; 400, 401, 403 and a create's 404 contract errors; a cancel's 404 done.
"""

from __future__ import annotations

import json

import pytest

from harness.execution_path import read_path
from lambdas.adapters.pharmacy_calls import Call, parse, system_of

HOST = "pharmacy.example.com:8443"


@pytest.mark.parametrize(
    ("operation", "status", "error", "status_class"),
    [
        ("createPrescription", 201, False, "2xx"),
        ("cancelShipment", 200, False, "2xx"),
        ("reserveInventory", 409, False, "4xx"),
        ("createShipment", 422, False, "4xx"),
        ("releaseInventory", 404, False, "4xx"),
        ("createPrescription", 404, True, "4xx"),
        ("createPrescription", 400, True, "4xx"),
        ("cancelPrescription", 401, True, "4xx"),
        ("createShipment", 403, True, "4xx"),
        ("reserveInventory", 408, True, "4xx"),
        ("reserveInventory", 429, True, "4xx"),
        ("createShipment", 503, True, "5xx"),
        ("cancelShipment", None, True, "no answer"),
    ],
)
def test_what_each_answer_counts_as(operation: str, status: int | None, error: bool, status_class: str) -> None:
    call = Call(operation, HOST, status, None if status else "ReadTimeoutError")
    assert call.is_error is error
    assert call.status_class == status_class


@pytest.mark.parametrize(
    "call",
    [Call("createPrescription", HOST, 503), Call("cancelShipment", "[::1]:9000", None, "ProtocolError")],
)
def test_a_call_reads_back_from_the_text_it_is_written_as(call: Call) -> None:
    assert parse(str(call)) == call
    assert parse(f"{call}, retry after 2s") == call
    assert parse("refused by the system the step called") is None


def test_the_system_is_the_host_and_port_never_credentials_or_path() -> None:
    assert system_of("https://user:pw@pharmacy.example.com:8443/api/v1") == HOST
    assert system_of("http://127.0.0.1:5000") == "127.0.0.1:5000"


def _event(kind: str, **details: object) -> dict[str, object]:
    named = kind.removeprefix("Task")
    key = named[0].lower() + named[1:] + "EventDetails"
    return {"type": kind, "timestamp": 0, **({key: details} if details else {})}


def test_an_execution_history_gives_each_attempt_of_a_step_its_answer_and_the_system() -> None:
    # As Step Functions records a Lambda task retried twice (event names: the GetExecutionHistory API reference).
    failed = {"errorType": "PharmacyUnavailable", "errorMessage": f"createPrescription at {HOST}: HTTP 503"}
    events = [
        _event("ExecutionStarted"),
        _event("TaskStateEntered", name="Create Prescription"),
        _event("LambdaFunctionScheduled"),
        _event("LambdaFunctionFailed", error="PharmacyUnavailable", cause=json.dumps(failed)),
        _event("LambdaFunctionScheduled"),
        _event("LambdaFunctionTimedOut", error="States.Timeout"),
        _event("LambdaFunctionScheduled"),
        _event(
            "LambdaFunctionSucceeded",
            output=json.dumps(
                {"prescription_id": "rx-1", "system": HOST, "calls": [f"createPrescription at {HOST}: HTTP 201"]}
            ),
        ),
        _event("TaskStateExited", name="Create Prescription"),
        _event("TaskStateEntered", name="Reserve Inventory"),
        _event("LambdaFunctionScheduled"),
        _event(
            "LambdaFunctionSucceeded", output=json.dumps({"reservation_id": "res-1", "system": "built-in", "calls": []})
        ),
        _event("TaskStateExited", name="Reserve Inventory"),
    ]
    path = read_path(events)
    prescription, inventory = path.runs["Create Prescription"], path.runs["Reserve Inventory"]
    assert prescription.attempts == 3
    assert [c.status for c in prescription.calls] == [503, 201], "a timed-out attempt says nothing of its call"
    assert prescription.via == f"HTTP {HOST}: 503, 201"
    assert inventory.via == "built-in tables"
