"""The independent pharmacy keeps docs/pharmacy-api.yaml: every request and answer here is validated against the
YAML by openapi-core (tests/pharmacy/contract_client.py), and each expectation quotes the YAML's own rule."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator

import pytest
import requests

from harness.waiting import poll
from tests.independent_pharmacy.books import STOCK
from tests.independent_pharmacy.server import Seen, Served, serve
from tests.pharmacy.contract_client import ContractClient, lines

TOKEN = "independent-token-for-tests"
US = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


@pytest.fixture
def served() -> Iterator[Served]:
    running = serve(TOKEN)
    yield running
    running.stop()
    assert not running.pharmacy.errors


@pytest.fixture
def client(served: Served) -> ContractClient:
    return ContractClient(served.url, token=TOKEN)


def test_each_create_is_done_once_and_a_repeated_key_gets_its_first_answer_replayed(
    client: ContractClient, served: Served
) -> None:
    first = client.create_prescription("o-1", lines(("med-1", 2)))
    again = client.create_prescription("o-1", lines(("med-1", 2)))

    # "answers a repeated key with its first final answer (the same status and body) ... may add Idempotent-Replayed"
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() == {"prescription_id": "rx-o-1", "order_id": "o-1", "status": "ACTIVE"}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert client.reserve("o-1", lines(("med-1", 2))).status_code == 201
    assert client.reserve("o-1", lines(("med-1", 2))).status_code == 201
    assert served.pharmacy.books.available["med-1"] == STOCK["med-1"] - 2, "reserved once"


def test_a_key_reused_for_another_body_or_operation_is_refused_with_422(client: ContractClient) -> None:
    client.create_prescription("o-1", lines(("med-1", 1)), key="k-1")

    # "A repeated key with a different request (another operation, another resource id or another body) ...
    # 422 and "code": "idempotency_key_reused""
    reused = [
        client.create_prescription("o-1", lines(("med-1", 2)), key="k-1"),
        client.create_prescription("o-2", lines(("med-1", 1)), key="k-1"),
        client.cancel_prescription("o-1", key="k-1"),
    ]
    assert [(answer.status_code, answer.json().get("code")) for answer in reused] == [
        (422, "idempotency_key_reused")
    ] * 3
    assert client.create_prescription("o-1", lines(("med-1", 1)), key="k-1").status_code == 201


@pytest.mark.parametrize("kind", ["prescription", "reservation", "shipment"])
def test_a_cancel_before_the_create_is_remembered_and_the_late_create_refused(
    client: ContractClient, served: Served, kind: str
) -> None:
    operations: dict[str, tuple[Callable[[], requests.Response], Callable[[], requests.Response]]] = {
        "prescription": (
            lambda: client.cancel_prescription("o-1"),
            lambda: client.create_prescription("o-1", lines(("med-1", 1))),
        ),
        "reservation": (lambda: client.release("o-1"), lambda: client.reserve("o-1", lines(("med-1", 1)))),
        "shipment": (lambda: client.cancel_shipment("o-1"), lambda: client.create_shipment("o-1", US)),
    }
    cancel, create = operations[kind]

    undone = cancel()
    late = create()

    # "a cancel of a resource that was never created succeeds (200 with was_active: false) AND is remembered"
    assert undone.status_code == 200
    assert undone.json()["was_active"] is False
    # "a later create of that id is refused with 409 and "code": "cancelled" in its body, creating nothing"
    assert late.status_code == 409
    assert late.json()["code"] == "cancelled"
    assert not served.pharmacy.books.held[undone.json()["id"]].created
    assert served.pharmacy.books.available == STOCK
    # "Cancelling twice succeeds twice"
    assert cancel().status_code == 200


def test_a_create_repeated_after_its_cancel_gets_the_409_not_its_first_2xx(client: ContractClient) -> None:
    assert client.create_shipment("o-1", None).status_code == 201
    assert client.cancel_shipment("o-1").json()["was_active"] is True

    again = client.create_shipment("o-1", None)

    assert (again.status_code, again.json()["code"]) == (409, "cancelled")


def test_a_business_409_carries_no_code_and_other_content_carries_its_own(client: ContractClient) -> None:
    refused = client.reserve("o-1", lines(("med-1", 1), ("med-scarce", 1)))

    # "the reason names the first such line by its number: "line 2: not enough stock"" ... "no other 409 may carry it"
    assert refused.status_code == 409
    assert refused.json() == {"reason": "line 2: not enough stock"}
    assert client.create_prescription("o-2", lines(("med-1", 1))).status_code == 201
    other = client.create_prescription("o-2", lines(("med-1", 2)), key="another-key")
    # "with other content it is refused with 409 and "code": "exists_with_other_content""
    assert other.status_code == 409, "exists for other lines"
    assert other.json()["code"] == "exists_with_other_content"


def test_all_lines_are_reserved_or_none(client: ContractClient, served: Served) -> None:
    assert client.reserve("o-1", lines(("med-2", 5), ("med-3", 101))).status_code == 409
    assert served.pharmacy.books.available == STOCK


@pytest.mark.parametrize(
    ("rx_lines", "reason"),
    [
        (lines(("med-1", 1), ("med-unknown", 1)), "line 2: medication not in the catalogue"),
        (lines(("med-2", 3)), "line 1: quantity above the per-prescription maximum"),
    ],
)
def test_a_prescription_outside_the_catalogue_is_refused_with_422(
    client: ContractClient, rx_lines: list[dict[str, object]], reason: str
) -> None:
    refused = client.create_prescription("o-1", rx_lines, patient_id="patient-secret-1")

    assert (refused.status_code, refused.json()) == (422, {"reason": reason})


@pytest.mark.parametrize(
    ("address", "status", "ships_to"),
    [
        (None, 201, "address_on_file"),
        (US, 201, "order_address"),
        ({**US, "country": "AQ"}, 422, None),
        ({**US, "postal_code": "1234"}, 422, None),
    ],
)
def test_a_shipment_goes_to_a_deliverable_address_or_is_refused_with_422(
    client: ContractClient, address: dict[str, str] | None, status: int, ships_to: str | None
) -> None:
    answer = client.create_shipment("o-1", address)

    assert answer.status_code == status
    if ships_to is not None:
        assert answer.json()["ships_to"] == ships_to
    else:
        assert not {v for v in (address or {}).values() if v in answer.text}, "the reason names no address"


def test_a_request_without_a_valid_token_gets_401_and_one_without_a_key_400(served: Served) -> None:
    body = {"order_id": "o-1", "patient_id": "p-1", "lines": lines(("med-1", 1))}
    path, key = "/prescriptions/rx-o-1", "createPrescription:o-1"

    anonymous = ContractClient(served.url, token=None).send("PUT", path, key, body, outside_contract=True)
    wrong = ContractClient(served.url, token="not-the-token").send("PUT", path, key, body)
    keyless = ContractClient(served.url, token=TOKEN).send("PUT", path, None, body, outside_contract=True)

    # "A missing or wrong token gets 401" (WWW-Authenticate: Bearer, "as RFC 6750 asks of a 401")
    for refused in (anonymous, wrong):
        assert (refused.status_code, refused.headers["WWW-Authenticate"]) == (401, "Bearer")
    # "A request without the header gets 400"
    assert keyless.status_code == 400
    assert served.pharmacy.books.held == {}


def test_the_knob_answers_503_n_times_per_key_then_serves_it_and_every_request_is_recorded(
    client: ContractClient, served: Served
) -> None:
    served.pharmacy.unavailable_times = 2

    statuses = [client.create_prescription("o-1", lines(("med-1", 1))).status_code for _ in range(3)]
    other = client.cancel_prescription("o-2").status_code

    assert statuses == [503, 503, 201]
    assert other == 503, "counted per key"
    path = "/prescriptions/rx-o-1"
    key = "createPrescription:o-1"
    assert served.pharmacy.seen[:3] == [
        Seen("PUT", path, key, 503),
        Seen("PUT", path, key, 503),
        Seen("PUT", path, key, 201),
    ]


def test_a_client_that_hangs_up_is_counted_not_reported_as_a_server_error(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as hanging_up:
        hanging_up.sendall(b"PUT /prescriptions/rx-o-1 HTTP/1.1\r\nHost: x\r\n")  # it gives up mid-request
        # SO_LINGER 0: close with a reset, as a client whose timeout expired does to a pooled connection
        hanging_up.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    assert poll(lambda: served.pharmacy.hung_up or None, timeout=10) == 1
    assert served.pharmacy.errors == []
