"""Issue 24's "Done when": `saga local up -c pharmacy_api_url=... -c pharmacy_api_secret=...` pointed at a pharmacy
server written from docs/pharmacy-api.yaml alone (tests/independent_pharmacy/) runs the saga over HTTP.

Through the product's public surface only: `saga local up` in a subprocess, the team's secret created
through the endpoint's Secrets Manager API, orders put on the bus as a pharmacy puts them, sagas read
from the stack's saga table. What was done to the pharmacy is read from the server's own records. One
`saga local up` serves the module; it starts its own endpoint, so the endpoint tier skips these tests
(they take no `target`: tests/e2e/conftest.py).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.target import StackTarget
from harness.waiting import poll
from infra import names
from lambdas.domain.projection import SagaView
from tests.independent_pharmacy.books import STOCK
from tests.independent_pharmacy.server import Pharmacy, Served, serve

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = "independent-pharmacy/api-token"
LOCAL_UP_SECONDS = 300.0
SAGA_SECONDS = 120.0
BASE_PATH = "/api"
"""The API under a path, as infra/pharmacy.py's own example URL has it (https://pharmacy.example.com/api)."""
SEED_EXAMPLE = {"order_id": "order-123", "patient_id": "patient-456", "medications": ["med-1", "med-2"]}
"""The seed's own example (README, ../shared/DESIGN.md): it must complete."""
LONDON = {"line1": "1 High St", "city": "London", "postal_code": "SW1A 1AA", "country": "GB"}
"""A well-formed address in a country this pharmacy's carrier does not serve (books.POSTAL_CODES)."""
PARIS = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
"""A well-formed address in a country this pharmacy's carrier serves."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def independent() -> Iterator[Served]:
    served = serve(secrets.token_urlsafe(32), BASE_PATH)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def stack(independent: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackTarget]:
    """`saga local up -c pharmacy_api_url=<the server> -c pharmacy_api_secret=<name>`, and the team's secret."""
    port = _free_port()
    log = tmp_path_factory.mktemp("local-up") / "saga-local-up.log"
    # the endpoint this test starts is the one its clients reach, whatever the environment exports
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    context = [f"pharmacy_api_url={independent.url}", f"pharmacy_api_secret={SECRET_NAME}"]
    command = [str(Path(sys.executable).parent / "saga"), "local", "up", "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, *(f"-c{pair}" for pair in context)],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    target = StackTarget(endpoint_url=f"http://127.0.0.1:{port}")
    try:

        def deployed() -> bool | None:
            if server.poll() is not None:
                raise RuntimeError(f"`saga local up` exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                described = target.client("cloudformation").describe_stacks(StackName=target.stack)["Stacks"][0]
            except Exception:  # not serving yet (a 503 while it deploys), or no stack yet: ask again
                return None
            return True if described.get("Outputs") else None

        if not poll(deployed, LOCAL_UP_SECONDS, pause=lambda: 0.5):
            raise RuntimeError(f"`saga local up` did not deploy in {LOCAL_UP_SECONDS} s:\n{log.read_text()[-3000:]}")
        # The team owns the secret: created through the API, as the team would, after the stack
        target.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=independent.pharmacy.token)
        yield target
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture
def pharmacy(independent: Served, stack: StackTarget) -> Iterator[Pharmacy]:
    """The server's books as opened and nothing seen, for each test; no request it could not handle."""
    independent.pharmacy.reset()
    yield independent.pharmacy
    assert not independent.pharmacy.errors, independent.pharmacy.errors


def _run(stack: StackTarget, *orders: dict[str, Any]) -> dict[str, SagaView]:
    for order in orders:
        stack.put_order(order)
    settled, unsettled = stack.settle([o["order_id"] for o in orders], timeout=SAGA_SECONDS)
    assert not unsettled, f"sagas not settled in {SAGA_SECONDS} s: {unsettled}"
    return settled


def _paths(order_id: str) -> dict[str, str]:
    """The YAML's path of each operation for one order (ids `rx-`, `res-`, `shp-` and the order id)."""
    paths = {
        "createPrescription": f"/prescriptions/rx-{order_id}",
        "cancelPrescription": f"/prescriptions/rx-{order_id}/cancel",
        "reserveInventory": f"/reservations/res-{order_id}",
        "releaseInventory": f"/reservations/res-{order_id}/release",
        "createShipment": f"/shipments/shp-{order_id}",
        "cancelShipment": f"/shipments/shp-{order_id}/cancel",
    }
    return {operation: f"{BASE_PATH}{path}" for operation, path in paths.items()}


def _calls(pharmacy: Pharmacy, order_id: str) -> list[tuple[str, int]]:
    """(operationId, status answered) of every request the server saw since the test began, in order;
    one that is not an operation on this order's resources shows as `elsewhere <path>`."""
    operation_of = {path: operation for operation, path in _paths(order_id).items()}
    return [(operation_of.get(s.path, f"elsewhere {s.path}"), s.status) for s in pharmacy.seen]


def _held(pharmacy: Pharmacy) -> dict[str, tuple[str, bool]]:
    """resource id -> (status, whether it was ever created) for everything the server holds."""
    return {i: (held.status, held.created) for i, held in pharmacy.books.held.items()}


def _stock(pharmacy: Pharmacy) -> dict[str, tuple[int, int]]:
    return {m: (pharmacy.books.available[m], pharmacy.books.reserved[m]) for m in STOCK}


UNTOUCHED = {medication: (units, 0) for medication, units in STOCK.items()}


def test_the_seed_example_completes_against_a_pharmacy_written_from_the_contract(
    stack: StackTarget, pharmacy: Pharmacy
) -> None:
    # Given the seed's own example, When it is put on the bus
    view = _run(stack, SEED_EXAMPLE)["order-123"]

    # Then the saga completed, each step done once over HTTP, with the bodies the YAML describes
    assert view.state == "COMPLETED", view
    assert _calls(pharmacy, "order-123") == [
        ("createPrescription", 201),
        ("reserveInventory", 201),
        ("createShipment", 201),
    ]
    assert _held(pharmacy) == {
        "rx-order-123": ("ACTIVE", True),
        "res-order-123": ("RESERVED", True),
        "shp-order-123": ("INITIATED", True),
    }
    books = pharmacy.books.held
    assert books["rx-order-123"].content == ("patient-456", (("med-1", 1), ("med-2", 1)))
    assert books["res-order-123"].content == ((("med-1", 1), ("med-2", 1)),)
    # no address in the order: the one on file, found by the order's patient (ShipmentRequest.patient_id)
    assert books["shp-order-123"].content == ("patient-456", None)
    assert _stock(pharmacy) == {**UNTOUCHED, "med-1": (99, 1), "med-2": (99, 1)}
    keys = [s.idempotency_key for s in pharmacy.seen]
    assert None not in keys
    assert len(set(keys)) == 3, "one Idempotency-Key per operation"


@pytest.mark.parametrize(
    ("order", "failed_step", "reason", "calls", "held"),
    [
        pytest.param(
            # med-4 is in the stack's own demo catalogue (harness/seed.py), not in this pharmacy's: the
            # pharmacy's catalogue decides
            {"order_id": "unknown-medication", "patient_id": "patient-1", "medications": ["med-1", "med-4"]},
            "create_prescription",
            "line 2: medication not in the catalogue",
            [("createPrescription", 422)],
            {},
            id="prescription",
        ),
        pytest.param(
            {"order_id": "no-stock", "patient_id": "patient-2", "medications": ["med-1", "med-scarce"]},
            "reserve_inventory",
            "line 2: not enough stock",
            [("createPrescription", 201), ("reserveInventory", 409), ("cancelPrescription", 200)],
            {"rx-no-stock": ("CANCELLED", True)},
            id="reservation",
        ),
        pytest.param(
            {
                "order_id": "undeliverable",
                "patient_id": "patient-3",
                "medications": ["med-1"],
                "shipping_address": LONDON,
            },
            "initiate_shipment",
            "the shipping address is in a country this pharmacy does not ship to",
            [
                ("createPrescription", 201),
                ("reserveInventory", 201),
                ("createShipment", 422),
                ("releaseInventory", 200),
                ("cancelPrescription", 200),
            ],
            {"rx-undeliverable": ("CANCELLED", True), "res-undeliverable": ("RELEASED", True)},
            id="shipment",
        ),
    ],
)
def test_a_refusal_compensates_exactly_the_steps_done_in_reverse_order(
    stack: StackTarget,
    pharmacy: Pharmacy,
    order: dict[str, Any],
    failed_step: str,
    reason: str,
    calls: list[tuple[str, int]],
    held: dict[str, tuple[str, bool]],
) -> None:
    # Given an order this pharmacy refuses at one step, When it is put on the bus
    view = _run(stack, order)[order["order_id"]]

    # Then the saga failed there with the pharmacy's own reason (the YAML: the saga keeps it)
    assert (view.state, view.failed_step, view.failure_reason) == ("FAILED", failed_step, reason)
    # and the pharmacy saw the steps done and then their undoing in reverse order, nothing else:
    # what was created is cancelled or released, the refused resource never existed, the stock is whole
    assert _calls(pharmacy, order["order_id"]) == calls
    assert _held(pharmacy) == held
    assert _stock(pharmacy) == UNTOUCHED


def test_a_create_answered_503_twice_is_retried_with_the_same_key_and_the_saga_completes(
    stack: StackTarget, pharmacy: Pharmacy
) -> None:
    # Given a pharmacy that answers 503 twice per Idempotency-Key before serving it
    pharmacy.unavailable_times = 2

    # When an order arrives
    view = _run(stack, {"order_id": "unavailable-twice", "patient_id": "patient-4", "medications": ["med-1"]})[
        "unavailable-twice"
    ]

    # Then it saw createPrescription three times under one key (503, 503, 201), and one saga completed
    created = [s for s in pharmacy.seen if s.path == _paths("unavailable-twice")["createPrescription"]]
    assert [(s.method, s.status) for s in created] == [("PUT", 503), ("PUT", 503), ("PUT", 201)]
    assert len({s.idempotency_key for s in created}) == 1
    assert view.state == "COMPLETED", view
    assert _held(pharmacy) == {
        "rx-unavailable-twice": ("ACTIVE", True),
        "res-unavailable-twice": ("RESERVED", True),
        "shp-unavailable-twice": ("INITIATED", True),
    }
    # every step went the same way: the retry is the saga's, whichever step meets the 503s
    assert _calls(pharmacy, "unavailable-twice") == [
        (operation, status)
        for operation in ("createPrescription", "reserveInventory", "createShipment")
        for status in (503, 503, 201)
    ]


def _log_lines(stack: StackTarget) -> list[str]:
    """Every log event the endpoint's CloudWatch Logs holds, from every group."""
    logs, lines = stack.client("logs"), []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            events = logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"])
            lines += [event["message"] for events_page in events for event in events_page["events"]]
    return lines


def _histories(stack: StackTarget, order_ids: set[str]) -> list[str]:
    """The execution histories of these orders' sagas (inputs, outputs, errors and causes of every state)."""
    sfn = stack.client("stepfunctions")
    listed = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.output(names.OUTPUT_STATE_MACHINE))
    histories = []
    for execution in (e for page in listed for e in page["executions"] if e["name"] in order_ids):
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution["executionArn"])
        histories.append(json.dumps([event for page in pages for event in page["events"]], default=str))
    return histories


def test_the_pharmacys_reasons_and_the_patients_stay_out_of_logs_and_histories(
    stack: StackTarget, pharmacy: Pharmacy
) -> None:
    # Given two orders this pharmacy refuses, with patient ids found nowhere else
    orders: list[dict[str, Any]] = [
        {"order_id": "quiet-prescription", "patient_id": "patient-q4471", "medications": ["med-4"]},
        {
            "order_id": "quiet-shipment",
            "patient_id": "patient-q4472",
            "medications": ["med-1"],
            "shipping_address": {**LONDON, "line1": "7 Qquietly Lane"},
        },
    ]
    views = _run(stack, *orders)
    reasons = [
        "line 1: medication not in the catalogue",
        "the shipping address is in a country this pharmacy does not ship to",
    ]
    assert {view.failure_reason for view in views.values()} == set(reasons), "the pharmacy's reasons are the sagas'"

    # Then neither its reasons (untrusted text, the YAML: never logged) nor the patients appear in a
    # log line or an execution history; the order ids do, so the search is not a search of nothing
    secrets = [*reasons, "patient-q4471", "patient-q4472", "Qquietly"]
    lines, histories = _log_lines(stack), _histories(stack, {"quiet-prescription", "quiet-shipment"})
    assert any("quiet-shipment" in line for line in lines)
    assert len(histories) == 2
    for secret in secrets:
        assert not [line for line in lines if secret in line], f"{secret!r} in a log line"
        assert not [h for h in histories if secret in h], f"{secret!r} in an execution history"


# The pharmacy's own rules are not the saga's to pre-empt: the YAML has the pharmacy refuse an unknown
# medication (createPrescription, 422) and an address its carrier cannot deliver to (createShipment, 422).
# (Found here first: the saga applied the stack's catalogue table and its built-in serviced countries, US,
# CA and GB, before calling the pharmacy, so orders the pharmacy would fulfil were refused unheard.)


def test_a_medication_only_the_pharmacys_catalogue_holds_is_prescribed(stack: StackTarget, pharmacy: Pharmacy) -> None:
    # Given a medication this pharmacy sells and the stack's demo catalogue does not hold (med-house-1)
    order = {"order_id": "house-brand", "patient_id": "patient-5", "medications": ["med-house-1"]}

    view = _run(stack, order)["house-brand"]

    assert _calls(pharmacy, "house-brand")[:1] == [("createPrescription", 201)]
    assert view.state == "COMPLETED", view


def test_an_address_the_pharmacys_carrier_serves_is_shipped_to(stack: StackTarget, pharmacy: Pharmacy) -> None:
    # Given an address in France, which this pharmacy's carrier serves and the saga's built-in list does not
    order = {"order_id": "to-paris", "patient_id": "patient-6", "medications": ["med-1"], "shipping_address": PARIS}

    view = _run(stack, order)["to-paris"]

    assert ("createShipment", 201) in _calls(pharmacy, "to-paris")
    assert view.state == "COMPLETED", view
