"""`saga local up -c KEY=VALUE` passes CDK context to the synthesis; `--pharmacy reference` serves the
reference pharmacy, points the stack at it and creates its token's secret through the local API."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from harness.target import StackTarget
from saga_cli import local
from saga_cli.errors import Refused
from saga_cli.local_context import REFERENCE_SECRET, ReferencePharmacy, parse_context, synthesis_context

BIN = Path(sys.executable).parent
REFERENCE = ReferencePharmacy("http://127.0.0.1:8123", "token")


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a boto3 client of the local endpoint needs from the environment (any credential on loopback)."""
    for variable, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(variable, value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_context_pairs_are_key_equals_value_and_the_last_of_a_key_wins() -> None:
    pairs = ["pharmacy_api_url=https://a.example.com/x=1", "stack_name=One", "stack_name=Two", "order_producers="]
    assert parse_context(pairs) == {
        "pharmacy_api_url": "https://a.example.com/x=1",
        "stack_name": "Two",
        "order_producers": "",
    }


@pytest.mark.parametrize("pair", ["pharmacy_api_url", "=value", "has space=1"])
def test_a_pair_that_is_not_key_equals_value_is_refused(pair: str) -> None:
    with pytest.raises(Refused, match="-c takes KEY=VALUE"):
        parse_context([pair])


def test_the_reference_pharmacy_sets_the_url_and_the_secret_and_keeps_the_steps_given() -> None:
    # The local tools read published events from the domain events queue: on, unless -c turns it off.
    assert synthesis_context({"pharmacy_api_steps": "inventory"}, REFERENCE) == {
        "pharmacy_api_url": REFERENCE.url,
        "pharmacy_api_secret": REFERENCE_SECRET,
        "pharmacy_api_steps": "inventory",
        "domain_events_queue": "true",
    }
    assert synthesis_context({"stack_name": "S"}, None) == {"stack_name": "S", "domain_events_queue": "true"}
    assert synthesis_context({"domain_events_queue": "false"}, None) == {"domain_events_queue": "false"}


def test_the_reference_pharmacy_and_a_url_of_ones_own_are_refused_together() -> None:
    with pytest.raises(Refused, match="--pharmacy reference sets"):
        synthesis_context({"pharmacy_api_url": "https://pharmacy.example.com"}, REFERENCE)


def test_a_wrong_pharmacy_value_is_refused_before_anything_is_served() -> None:
    given = ["-c", "pharmacy_api_url=http://example.com", "-c", "pharmacy_api_secret=pharmacy/token"]
    done = subprocess.run(
        [str(BIN / "saga"), "local", "up", "--port", str(_free_port()), *given],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "must use https://" in done.stderr


def test_an_unknown_pharmacy_option_is_refused() -> None:
    with pytest.raises(Refused, match="--pharmacy takes only 'reference'"):
        local.serve("127.0.0.1", 1, fault_injection=False, ready=print, notice=print, pharmacy="mine")


@pytest.mark.usefixtures("aws_environment")
def test_local_up_with_the_reference_pharmacy_completes_an_order_there() -> None:
    stop = threading.Event()
    seen: dict[str, Any] = {}

    def ready(endpoint: str, outputs: dict[str, str]) -> None:
        try:
            target = StackTarget(endpoint_url=endpoint)
            secret = target.client("secretsmanager").describe_secret(SecretId=REFERENCE_SECRET)
            seen["secret"] = secret["Name"]
            target.put_order({"order_id": "ref-1", "patient_id": "p-1", "medications": ["med-1"]})
            seen["sagas"] = target.wait_for_sagas(["ref-1"], timeout=60)
        finally:
            stop.set()

    said: list[str] = []
    local.serve(
        "127.0.0.1",
        _free_port(),
        fault_injection=False,
        ready=ready,
        notice=said.append,
        stop=stop,
        pharmacy="reference",
    )
    assert seen == {"secret": REFERENCE_SECRET, "sagas": {"ref-1": "COMPLETED"}}
    # The user is told where the pharmacy the steps call is, and where its token is (a walk found neither said)
    [where] = [line for line in said if "reference pharmacy at http://127.0.0.1:" in line]
    assert REFERENCE_SECRET in where


@pytest.mark.usefixtures("aws_environment")
def test_local_up_says_at_once_when_the_pharmacy_secret_does_not_exist_yet() -> None:
    # The stack does not create the team's secret, locally either (docs/integrations.md): without it every
    # order would fail at its first step. The review found nothing told the user so.
    stop = threading.Event()
    said: list[str] = []
    context = {"pharmacy_api_url": "http://127.0.0.1:9", "pharmacy_api_secret": "pharmacy/not-yet"}
    local.serve(
        "127.0.0.1",
        _free_port(),
        fault_injection=False,
        ready=lambda endpoint, outputs: stop.set(),
        notice=said.append,
        stop=stop,
        context=context,
    )
    [missing] = [line for line in said if "pharmacy/not-yet" in line]
    assert "does not exist" in missing
    assert "secretsmanager create-secret --name pharmacy/not-yet" in missing
