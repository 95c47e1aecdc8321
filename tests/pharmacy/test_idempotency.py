"""One Idempotency-Key, one effect and one answer; a cancel is remembered, so a late create creates nothing.

Expected values come from docs/pharmacy-api.yaml ("The Idempotency-Key header", "Cancel before
create") and from the saga's record ids (`rx-`, `res-`, `shp-` and the order id)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from pharmacy_reference.records import Record
from pharmacy_reference.server import Served, serve
from pharmacy_reference.service import Pharmacy
from tests.pharmacy.contract_client import TOKEN, ContractClient, lines

RX_LINES = lines(("med-1", 2))
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def _record(served: Served, record_id: str) -> Record | None:
    return next((r for r in served.pharmacy.records() if r.record_id == record_id), None)


def test_a_repeated_key_gets_the_first_answer_and_creates_once(client: ContractClient, served: Served) -> None:
    first = client.create_prescription("o-1", RX_LINES)
    again = client.create_prescription("o-1", RX_LINES)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() == {"prescription_id": "rx-o-1", "order_id": "o-1", "status": "ACTIVE"}
    assert again.headers["Idempotent-Replayed"] == "true"
    record = _record(served, "rx-o-1")
    assert record is not None
    assert record.times_created == 1


def test_a_repeated_key_with_another_body_is_refused_with_422(client: ContractClient, served: Served) -> None:
    client.create_prescription("o-1", RX_LINES)

    other = client.create_prescription("o-1", lines(("med-1", 1)), key="createPrescription:o-1")

    assert other.status_code == 422
    assert other.json()["reason"]
    record = _record(served, "rx-o-1")
    assert record is not None
    assert record.content is not None
    assert record.content["lines"] == RX_LINES  # the first request's, untouched


def test_a_key_reused_for_another_operation_is_refused_and_does_nothing(client: ContractClient, served: Served) -> None:
    client.create_prescription("o-1", RX_LINES)

    cancel = client.cancel_prescription("o-1", key="createPrescription:o-1")

    assert cancel.status_code == 422
    record = _record(served, "rx-o-1")
    assert record is not None
    assert record.status == "ACTIVE"


def test_a_refusal_is_a_first_answer_too() -> None:
    # Given two units of med-1, the first reservation takes both and the second is refused
    running = serve(TOKEN, pharmacy=Pharmacy(stock={"med-1": 2}))
    try:
        client = ContractClient(running.url)
        assert client.reserve("o-1", lines(("med-1", 2))).status_code == 201
        assert client.reserve("o-2", lines(("med-1", 2))).status_code == 409
        # When the stock comes back and the refused request is delivered again
        assert client.release("o-1").status_code == 200
        again = client.reserve("o-2", lines(("med-1", 2)))
        # Then it gets its first answer, and reserves nothing
        assert again.status_code == 409
        assert again.headers["Idempotent-Replayed"] == "true"
        assert running.pharmacy.stock()["med-1"] == (2, 0)
    finally:
        running.stop()


def test_the_same_id_with_another_key_is_done_if_the_same_and_refused_if_not(
    client: ContractClient, served: Served
) -> None:
    assert client.create_prescription("o-1", RX_LINES).status_code == 201

    same = client.create_prescription("o-1", RX_LINES, key="another-key-1")
    different = client.create_prescription("o-1", lines(("med-3", 1)), key="another-key-2")

    assert same.status_code == 200
    assert different.status_code == 409
    # The records show the client broke the one-key-per-(order, operation) rule
    assert served.pharmacy.keys()["createPrescription", "rx-o-1"] == {
        "createPrescription:o-1",
        "another-key-1",
        "another-key-2",
    }


CREATES: dict[str, Callable[[ContractClient, str], requests.Response]] = {
    "prescription": lambda client, order: client.create_prescription(order, RX_LINES),
    "reservation": lambda client, order: client.reserve(order, RX_LINES),
    "shipment": lambda client, order: client.create_shipment(order, ADDRESS),
}
CANCELS: dict[str, Callable[..., requests.Response]] = {
    "prescription": ContractClient.cancel_prescription,
    "reservation": ContractClient.release,
    "shipment": ContractClient.cancel_shipment,
}
IDS = {"prescription": "rx-o-1", "reservation": "res-o-1", "shipment": "shp-o-1"}


@pytest.mark.parametrize("kind", sorted(IDS))
def test_a_cancel_before_the_create_is_remembered_and_the_create_refused(
    client: ContractClient, served: Served, kind: str
) -> None:
    stock_before = served.pharmacy.stock()

    cancel = CANCELS[kind](client, "o-1")
    late_create = CREATES[kind](client, "o-1")

    assert cancel.status_code == 200
    assert cancel.json()["was_active"] is False
    assert late_create.status_code == 409
    record = _record(served, IDS[kind])
    assert record is not None
    assert record.times_created == 0
    assert served.pharmacy.stock() == stock_before


@pytest.mark.parametrize("kind", sorted(IDS))
def test_a_cancel_twice_succeeds_twice(client: ContractClient, served: Served, kind: str) -> None:
    CREATES[kind](client, "o-1")

    first = CANCELS[kind](client, "o-1")
    redelivered = CANCELS[kind](client, "o-1")
    another_key = CANCELS[kind](client, "o-1", "a-second-cancel")

    assert [first.status_code, redelivered.status_code, another_key.status_code] == [200, 200, 200]
    assert first.json()["was_active"] is True
    assert redelivered.json() == first.json()  # the first answer
    assert another_key.json()["was_active"] is False  # nothing left active
    record = _record(served, IDS[kind])
    assert record is not None
    assert record.status in {"CANCELLED", "RELEASED"}


def test_a_release_returns_the_reserved_stock(client: ContractClient, served: Served) -> None:
    before = served.pharmacy.stock()["med-1"]

    client.reserve("o-1", lines(("med-1", 4)))
    reserved = served.pharmacy.stock()["med-1"]
    client.release("o-1")

    assert reserved == (before[0] - 4, before[1] + 4)
    assert served.pharmacy.stock()["med-1"] == before


def test_one_key_delivered_many_times_at_once_creates_once(client: ContractClient, served: Served) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.reserve("o-1", lines(("med-1", 3))), range(8)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    record = _record(served, "res-o-1")
    assert record is not None
    assert record.times_created == 1
    assert served.pharmacy.stock()["med-1"] == (497, 3)  # the demo's 500, less one reservation of 3


@pytest.mark.parametrize("kind", sorted(IDS))
def test_the_409_of_a_create_cancelled_first_carries_the_code_a_business_refusal_does_not(
    client: ContractClient, served: Served, kind: str
) -> None:
    # docs/pharmacy-api.yaml, "Cancel before create": `"code": "cancelled"` on that 409 and no other.
    CANCELS[kind](client, "o-1")
    late_create = CREATES[kind](client, "o-1")
    short = client.reserve("o-2", lines(("med-scarce", 1)))  # the demo stocks none of it

    assert late_create.status_code == 409
    assert late_create.json()["code"] == "cancelled"
    assert short.status_code == 409
    assert "code" not in short.json()


@pytest.mark.parametrize("kind", sorted(IDS))
def test_a_create_repeated_after_its_cancel_gets_the_409_not_its_first_2xx(
    client: ContractClient, served: Served, kind: str
) -> None:
    stock_before = served.pharmacy.stock()
    first = CREATES[kind](client, "o-1")
    assert CANCELS[kind](client, "o-1").json()["was_active"] is True

    repeated = CREATES[kind](client, "o-1")  # the same Idempotency-Key as `first`

    assert first.status_code == 201
    assert repeated.status_code == 409
    assert repeated.json()["code"] == "cancelled"
    assert "Idempotent-Replayed" not in repeated.headers
    record = _record(served, IDS[kind])
    assert record is not None
    assert (record.times_created, record.status) == (1, "RELEASED" if kind == "reservation" else "CANCELLED")
    assert served.pharmacy.stock() == stock_before
