"""Each fault knob misbehaves as a real pharmacy can, and the contract's rules keep one effect per key.

The knobs' meanings come from issue 24 (latency, 5xx, timeouts, responses lost after the work,
503 twice before 201); the expected outcomes from docs/pharmacy-api.yaml."""

from __future__ import annotations

import logging

import pytest
import requests

from pharmacy_reference.faults import FaultPlan, Faults
from pharmacy_reference.server import Served, serve
from tests.pharmacy.contract_client import TOKEN, ContractClient, lines

RX_LINES = lines(("med-1", 1))
BODY = {"order_id": "o-1", "patient_id": "patient-1", "lines": RX_LINES}
WAIT = 30.0
"""A bound on waiting for the service, never a measured duration."""


def _prescriptions(served: Served) -> list[tuple[str, str, int]]:
    return [(r.record_id, r.status, r.times_created) for r in served.pharmacy.records()]


def test_503_twice_then_201_three_requests_one_key_one_prescription() -> None:
    running = serve(TOKEN, Faults(unavailable_first=2, retry_after_seconds=0))
    try:
        client = ContractClient(running.url)

        answers = client.send_retrying("PUT", "/prescriptions/rx-o-1", "createPrescription:o-1", BODY)

        assert [a.status_code for a in answers] == [503, 503, 201]
        assert [a.headers.get("Retry-After") for a in answers[:2]] == ["0", "0"]
        assert client.sent_keys == ["createPrescription:o-1"] * 3
        assert running.pharmacy.arrivals() == [("createPrescription", "rx-o-1", "createPrescription:o-1")] * 3
        assert _prescriptions(running) == [("rx-o-1", "ACTIVE", 1)]
    finally:
        running.stop()


def test_a_5xx_does_no_work_and_a_retry_with_the_same_key_does_it_once(served: Served) -> None:
    client = ContractClient(served.url)
    served.plan.change(Faults(error_rate=1.0))

    failed = client.create_prescription("o-1", RX_LINES)
    assert failed.status_code == 500
    assert served.pharmacy.records() == []

    served.plan.change(Faults())
    assert client.create_prescription("o-1", RX_LINES).status_code == 201
    assert _prescriptions(served) == [("rx-o-1", "ACTIVE", 1)]


def test_a_response_dropped_after_the_work_leaves_the_work_done_once(served: Served) -> None:
    client = ContractClient(served.url)
    served.plan.change(Faults(drop_rate=1.0))

    with pytest.raises(requests.ConnectionError):
        client.create_prescription("o-1", RX_LINES)
    assert _prescriptions(served) == [("rx-o-1", "ACTIVE", 1)]  # done, though nobody heard

    served.plan.change(Faults())
    retried = client.create_prescription("o-1", RX_LINES)
    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert _prescriptions(served) == [("rx-o-1", "ACTIVE", 1)]


def test_a_create_held_past_its_timeout_and_compensated_first_creates_nothing(served: Served) -> None:
    # Given a create the pharmacy holds longer than the client waits
    served.plan.change(Faults(timeout_rate=1.0, hold_seconds=WAIT))
    with pytest.raises(requests.Timeout):
        ContractClient(served.url, timeout=0.5).create_prescription("o-1", RX_LINES)
    assert served.traffic.wait_held(1, WAIT)
    # When the saga compensates it while it is still held, and it then arrives
    served.plan.change(Faults())
    client = ContractClient(served.url)
    cancel = client.cancel_prescription("o-1")
    served.traffic.release_held()
    assert served.traffic.wait_idle(WAIT)
    # Then the late create was refused: nothing created, and its key keeps that answer
    assert cancel.json()["was_active"] is False
    assert _prescriptions(served) == [("rx-o-1", "CANCELLED", 0)]
    assert served.pharmacy.answers()["createPrescription:o-1"] == 409
    assert client.create_prescription("o-1", RX_LINES).status_code == 409


def test_added_latency_answers_after_the_client_gave_up_and_does_the_work(served: Served) -> None:
    served.plan.change(Faults(latency_seconds=1.0))

    with pytest.raises(requests.Timeout):
        ContractClient(served.url, timeout=0.2).create_prescription("o-1", RX_LINES)

    assert served.traffic.wait_idle(WAIT)
    assert _prescriptions(served) == [("rx-o-1", "ACTIVE", 1)]


def _outcomes(seed: int) -> list[tuple[bool, bool, bool]]:
    plan = FaultPlan(Faults(error_rate=0.5, timeout_rate=0.5, drop_rate=0.5, seed=seed))
    return [(d.error, d.hold, d.drop) for _, d in (plan.draw(f"key-{n}") for n in range(40))]


def test_the_same_seed_misbehaves_the_same_way() -> None:
    outcomes = _outcomes(seed=7)

    assert outcomes == _outcomes(seed=7)
    assert outcomes != _outcomes(seed=8)
    assert {error for error, _, _ in outcomes} == {True, False}  # the rate is drawn against, not all or nothing


def test_no_patient_data_in_any_log_line(
    client: ContractClient, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    secrets = ("patient-4471-secret", "med-3", "742 Evergreen Terrace", "K1A 0B1")
    caplog.set_level(logging.DEBUG)

    client.create_prescription("o-1", lines(("med-3", 1)), patient_id=secrets[0])
    client.create_prescription("o-2", lines(("med-3", 99)), patient_id=secrets[0])  # refused
    address = {"line1": secrets[2], "city": "Ottawa", "postal_code": secrets[3], "country": "CA"}
    client.create_shipment("o-1", address)

    # The service logs before it answers: every line is in by now.
    logged = caplog.text + "".join(capfd.readouterr())
    assert "createPrescription answered 201" in logged  # the service does log, without the data
    assert not [secret for secret in secrets if secret in logged]


def test_a_taken_port_is_an_error_its_caller_can_handle_not_the_end_of_the_process() -> None:
    # werkzeug's server ends the process (SystemExit) on a taken port: `saga local up` and the demo
    # fall back to a free port instead, so serve() must raise first.
    import socket

    from pharmacy_reference.server import port_free, serve

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        assert not port_free(taken)
        with pytest.raises(OSError, match="in use"):
            serve("token", port=taken)
