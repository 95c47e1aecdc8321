"""End to end through the deployed template: order event in, saga outcome, events out."""

from __future__ import annotations

from collections.abc import Callable

from harness.target import Target
from harness.waiting import poll
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from tests.e2e.helpers import (
    US_ADDRESS,
    history,
    order,
    published,
    records,
    states_entered,
    stock,
    view,
)
from tests.fakes import HAPPY_PATH_EVENTS

STEPS = ["Create Prescription", "Reserve Inventory", "Initiate Shipment"]


def test_the_seed_example_completes_and_every_record_agrees(target: Target, unique: Callable[[str], str]) -> None:
    cloud = target
    order_123 = unique("order-123")
    # Given the seed's own example order
    before = stock(cloud)
    # When it is put on the bus
    cloud.put_order({"order_id": order_123, "patient_id": "patient-456", "medications": ["med-1", "med-2"]})
    # Then the saga completes
    assert cloud.wait_for_sagas([order_123]) == {order_123: "COMPLETED"}
    # and the stream holds exactly the expected events, in order
    assert [e.type for e in history(cloud, order_123)] == HAPPY_PATH_EVENTS
    # and the projection agrees
    saga = view(cloud, order_123)
    assert saga.state is SagaState.COMPLETED
    assert saga.steps_completed == ("create_prescription", "reserve_inventory", "initiate_shipment")
    assert saga.compensations_run == ()
    assert saga.version == 9
    assert saga.duration_seconds is not None
    # and every stored event was published on the bus, once or more
    stored_ids = {e.event_id for e in history(cloud, order_123)}
    published_ids: set[str] = set()

    def all_published() -> bool | None:  # the publisher follows the stream: on AWS, a moment later
        published_ids.update(p["detail"]["event_id"] for p in published(cloud))
        return True if stored_ids <= published_ids else None

    poll(all_published, timeout=30)
    assert stored_ids <= published_ids
    # and the stock went down by the order's quantities
    after = stock(cloud)
    assert after["med-1"] == (before["med-1"][0] - 1, before["med-1"][1] + 1)
    assert after["med-2"] == (before["med-2"][0] - 1, before["med-2"][1] + 1)
    # and the execution went through the three steps only
    assert states_entered(cloud, order_123) == STEPS


def test_prescription_failure_runs_only_cancel_order(target: Target, unique: Callable[[str], str]) -> None:
    cloud = target
    rx_fails = unique("rx-fails")
    cloud.put_order(order(rx_fails, "med-1", "not-in-catalogue"))
    assert cloud.wait_for_sagas([rx_fails]) == {rx_fails: "FAILED"}
    assert states_entered(cloud, rx_fails) == ["Create Prescription", "Cancel Order", "Saga Failed"]
    saga = view(cloud, rx_fails)
    assert saga.compensations_run == ("cancel_order",)
    assert saga.failed_step == "create_prescription"
    assert saga.failure_reason == "line 2: medication is not in the catalogue"
    assert records(cloud, "Prescriptions", rx_fails) == []


def test_inventory_failure_cancels_prescription_then_order(target: Target, unique: Callable[[str], str]) -> None:
    cloud = target
    no_stock = unique("no-stock")
    before = stock(cloud)
    cloud.put_order(order(no_stock, "med-1", "med-scarce"))
    assert cloud.wait_for_sagas([no_stock]) == {no_stock: "FAILED"}
    assert states_entered(cloud, no_stock) == [
        "Create Prescription",
        "Reserve Inventory",
        "Cancel Prescription",
        "Cancel Order",
        "Saga Failed",
    ]
    assert view(cloud, no_stock).compensations_run == ("cancel_prescription", "cancel_order")
    assert [p["status"]["S"] for p in records(cloud, "Prescriptions", no_stock)] == ["CANCELLED"]
    assert stock(cloud) == before, "a refused reservation takes nothing, not even the lines in stock"


def test_shipment_failure_compensates_in_reverse_and_restores_stock_exactly(
    target: Target, unique: Callable[[str], str]
) -> None:
    cloud = target
    bad_address = unique("bad-address")
    before = stock(cloud)
    not_a_zip = {**US_ADDRESS, "postal_code": "not-a-zip"}
    cloud.put_order(order(bad_address, {"medication_id": "med-3", "quantity": 4}, shipping_address=not_a_zip))
    assert cloud.wait_for_sagas([bad_address]) == {bad_address: "FAILED"}
    assert states_entered(cloud, bad_address) == [
        *STEPS,
        "Release Inventory",
        "Cancel Prescription",
        "Cancel Order",
        "Saga Failed",
    ]
    assert view(cloud, bad_address).compensations_run == ("release_inventory", "cancel_prescription", "cancel_order")
    assert stock(cloud) == before
    assert [r["status"]["S"] for r in records(cloud, "Reservations", bad_address)] == ["RELEASED"]
    types = [e.type for e in history(cloud, bad_address)]
    assert types.index(ev.InventoryReleased.TYPE_KEY) < types.index(ev.PrescriptionCancelled.TYPE_KEY)
    assert types.index(ev.PrescriptionCancelled.TYPE_KEY) < types.index(ev.OrderCancelled.TYPE_KEY)
    assert types[-2:] == [ev.OrderFulfillmentSagaFailed.TYPE_KEY, ev.OrderFulfillmentSagaStateChanged.TYPE_KEY]


def test_an_order_without_an_address_ships_to_the_address_on_file(target: Target, unique: Callable[[str], str]) -> None:
    cloud = target
    no_address = unique("no-address")
    cloud.put_order(order(no_address, "med-1"))
    assert cloud.wait_for_sagas([no_address]) == {no_address: "COMPLETED"}
    assert records(cloud, "Shipments", no_address)[0]["ships_to"]["S"] == "address_on_file"
