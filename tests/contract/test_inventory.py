"""The inventory contract (stock and the reservations that hold it), written once, run against
the fake, the DynamoDB inventory and the HTTP adapter talking to the reference pharmacy (whose
warehouse holds the stock).

Reserve Inventory takes every line of the order or none; Release Inventory gives back what the
reservation took. Either may run twice, and the release may run before the reservation (a step
that timed out is compensated while its Lambda may still be running); a reservation made on a
saga version that is no longer the latest (the saga moved on) must not hold stock either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.business_tables import DynamoDBInventory, read_stock, set_available
from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.adapters.memory import InMemoryEventStore
from lambdas.adapters.pharmacy_http import PharmacyInventory
from lambdas.domain import events as ev
from lambdas.domain.errors import ConcurrencyConflict, InventoryReservationFailed
from lambdas.domain.order import MAX_LINES, OrderLine
from lambdas.logic.ports import EventStore, Inventory, StreamGuard
from localcloud import patches
from tests.concurrency import at_once
from tests.contract import http_pharmacy
from tests.contract.tables import create_table
from tests.fakes import FakeInventory


@dataclass
class Stockroom:
    inventory: Inventory
    events: EventStore
    """The saga streams a reservation's guard is checked against."""
    stock_up: Callable[[str, int], None]
    """Set a medication's available stock (the operator's `saga inventory set`)."""
    stock: Callable[[str], tuple[int, int]]
    """A medication's (available, reserved)."""


def _fake() -> Stockroom:
    events = InMemoryEventStore()
    fake = FakeInventory(events=events)

    def stock_up(med: str, available: int) -> None:
        fake.available[med] = available
        fake.reserved.setdefault(med, 0)

    return Stockroom(fake, events, stock_up, lambda med: (fake.available.get(med, 0), fake.reserved.get(med, 0)))


def _dynamodb() -> Stockroom:
    client = boto3.client("dynamodb", region_name="us-east-1")
    stock_table = create_table(client, "BusinessTablesInventory", "inventory")
    reservations = create_table(client, "BusinessTablesReservations", "reservations")
    events = create_table(client, "EventStoreEvents", "events")
    return Stockroom(
        DynamoDBInventory(client, stock_table, reservations, events),
        DynamoDBEventStore(client, events),
        lambda med, available: set_available(client, stock_table, med, available),
        lambda med: read_stock(client, stock_table).get(med, (0, 0)),
    )


@contextmanager
def _http() -> Iterator[Stockroom]:
    with http_pharmacy.pharmacy(stock={}) as (served, client):
        events = InMemoryEventStore()
        yield Stockroom(
            PharmacyInventory(client, events),
            events,
            served.pharmacy.stock_up,
            lambda med: served.pharmacy.stock().get(med, (0, 0)),
        )


@pytest.fixture(params=["fake", "dynamodb", "http"])
def room(request: pytest.FixtureRequest) -> Iterator[Stockroom]:
    if request.param == "fake":
        yield _fake()
        return
    if request.param == "http":
        with _http() as http:
            yield http
        return
    patches.apply_patches()  # DynamoDB as atomic as the real one under threads (localcloud/patches/dynamodb.py)
    with mock_aws():
        yield _dynamodb()


def line(med: str, quantity: int = 1) -> OrderLine:
    return OrderLine(medication_id=med, quantity=quantity)


def saga_at(room: Stockroom, stream: str, version: int) -> StreamGuard:
    """Append events to `stream` up to `version`; the guard of a step that loaded the saga there."""
    already = len(room.events.read(stream))
    room.events.append(
        [
            ev.new_stored_event(
                ev.OrderCancelled(order_id="o", reason="r"),
                stream_id=stream,
                version=v,
                causation_id=None,
                source="test",
            )
            for v in range(already + 1, version + 1)
        ]
    )
    return StreamGuard(stream, version)


def test_reserving_moves_each_lines_quantity_from_available_to_reserved_and_nothing_else(room: Stockroom) -> None:
    for med in ("med-1", "med-2", "med-other"):
        room.stock_up(med, 10)
    room.inventory.reserve("res-o", "o", [line("med-1", 3), line("med-2", 1)])
    assert [room.stock(m) for m in ("med-1", "med-2", "med-other")] == [(7, 3), (9, 1), (10, 0)]


def test_a_line_may_take_exactly_what_is_available(room: Stockroom) -> None:
    room.stock_up("med-1", 4)
    room.inventory.reserve("res-o", "o", [line("med-1", 4)])
    assert room.stock("med-1") == (0, 4)


def test_reserving_more_than_is_available_reserves_nothing_and_says_which_line_lacked_stock(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    room.stock_up("med-scarce", 1)
    room.stock_up("med-3", 10)
    with pytest.raises(InventoryReservationFailed) as refused:
        room.inventory.reserve("res-o", "o", [line("med-1", 2), line("med-scarce", 2), line("med-3", 2)])
    assert refused.value.reason.startswith("line 2:")
    assert "med-" not in refused.value.reason, "lines are named by position, never by medication"
    assert [room.stock(m) for m in ("med-1", "med-scarce", "med-3")] == [(10, 0), (1, 0), (10, 0)], "all or none"


def test_a_medication_never_stocked_lacks_stock(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    with pytest.raises(InventoryReservationFailed) as refused:
        room.inventory.reserve("res-o", "o", [line("med-1"), line("med-never")])
    assert refused.value.reason.startswith("line 2:")
    assert room.stock("med-1") == (10, 0)


def test_a_refused_reservation_leaves_nothing_to_release(room: Stockroom) -> None:
    room.stock_up("med-1", 1)
    with pytest.raises(InventoryReservationFailed):
        room.inventory.reserve("res-o", "o", [line("med-1", 2)])
    assert room.inventory.release("res-o") is False
    assert room.stock("med-1") == (1, 0)


def test_a_second_reservation_for_the_same_order_is_idempotent_even_once_its_stock_is_gone(room: Stockroom) -> None:
    room.stock_up("med-1", 5)
    room.inventory.reserve("res-o", "o", [line("med-1", 5)])
    room.inventory.reserve("res-o", "o", [line("med-1", 5)])
    assert room.stock("med-1") == (0, 5), "taken once; the repeat neither takes again nor is refused"


def test_releasing_returns_exactly_what_was_reserved_whatever_else_moved_meanwhile(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    room.stock_up("med-2", 10)
    room.inventory.reserve("res-a", "a", [line("med-1", 3), line("med-2", 2)])
    room.inventory.reserve("res-b", "b", [line("med-1", 4)])
    assert room.inventory.release("res-a") is True
    assert [room.stock(m) for m in ("med-1", "med-2")] == [(6, 4), (10, 0)], "b's reservation still held"


def test_releasing_twice_returns_the_stock_once(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    room.inventory.reserve("res-o", "o", [line("med-1", 3)])
    assert room.inventory.release("res-o") is True
    assert room.inventory.release("res-o") is False
    assert room.stock("med-1") == (10, 0)


def test_releasing_a_reservation_never_made_has_no_effect_and_it_can_no_longer_be_made(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    assert room.inventory.release("res-o") is False
    with pytest.raises(ConcurrencyConflict):
        room.inventory.reserve("res-o", "o", [line("med-1", 3)])
    assert room.stock("med-1") == (10, 0), "nothing reserved"


def test_a_released_reservation_cannot_be_made_again_by_a_late_step(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    room.inventory.reserve("res-o", "o", [line("med-1", 3)])
    room.inventory.release("res-o")
    with pytest.raises(ConcurrencyConflict):
        room.inventory.reserve("res-o", "o", [line("med-1", 3)])
    assert room.stock("med-1") == (10, 0)


def test_a_reservation_guarded_by_the_sagas_latest_version_goes_through(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    room.inventory.reserve("res-o", "o", [line("med-1", 2)], saga_at(room, "saga-o", 4))
    assert room.stock("med-1") == (8, 2)


def test_a_reservation_guarded_by_a_version_the_saga_moved_past_is_a_conflict_and_reserves_nothing(
    room: Stockroom,
) -> None:
    room.stock_up("med-1", 10)
    stale = saga_at(room, "saga-o", 4)
    saga_at(room, "saga-o", 5)  # the saga moved on (to its compensations, say) while the step ran
    with pytest.raises(ConcurrencyConflict):
        room.inventory.reserve("res-o", "o", [line("med-1", 2)], stale)
    assert room.stock("med-1") == (10, 0)
    room.inventory.reserve("res-o", "o", [line("med-1", 2)], StreamGuard("saga-o", 5))
    assert room.stock("med-1") == (8, 2), "the refused attempt left nothing in the way of a current one"


def test_an_order_with_the_most_lines_allowed_is_reserved_whole_under_a_guard(room: Stockroom) -> None:
    lines = [line(f"med-{n}", 2) for n in range(MAX_LINES)]
    for each in lines:
        room.stock_up(each.medication_id, 2)
    room.inventory.reserve("res-o", "o", lines, saga_at(room, "saga-o", 6))
    assert {room.stock(each.medication_id) for each in lines} == {(0, 2)}


def test_reservations_racing_for_scarce_stock_never_reserve_more_than_is_available(room: Stockroom) -> None:
    room.stock_up("med-scarce", 7)

    def reserve(n: int) -> str:
        try:
            room.inventory.reserve(f"res-race-{n}", f"race-{n}", [line("med-scarce", 2)])
        except InventoryReservationFailed:
            return "refused"
        return "won"

    outcomes = at_once(20, reserve)
    assert outcomes.count("won") == 3, "7 units, 2 per order: three orders, not one more"
    assert outcomes.count("refused") == 17
    assert room.stock("med-scarce") == (1, 6)


def test_a_reservation_racing_its_release_never_leaves_stock_held(room: Stockroom) -> None:
    room.stock_up("med-1", 100)
    ids = [f"res-race-{n}" for n in range(10)]

    def race(n: int) -> str:
        reservation = ids[n // 2]
        if n % 2:
            return "released" if room.inventory.release(reservation) else "nothing to release"
        try:
            room.inventory.reserve(reservation, "o", [line("med-1", 3)])
        except ConcurrencyConflict:
            return "refused"
        return "reserved"

    outcomes = at_once(2 * len(ids), race)
    for n in range(len(ids)):
        assert (outcomes[2 * n], outcomes[2 * n + 1]) in {("reserved", "released"), ("refused", "nothing to release")}
    assert room.stock("med-1") == (100, 0)


def test_releases_running_at_once_return_the_stock_exactly_once(room: Stockroom) -> None:
    room.stock_up("med-1", 10)
    room.inventory.reserve("res-o", "o", [line("med-1", 3)])
    outcomes = at_once(8, lambda n: room.inventory.release("res-o"))
    assert outcomes.count(True) == 1
    assert room.stock("med-1") == (10, 0)
