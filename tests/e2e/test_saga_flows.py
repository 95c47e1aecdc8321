"""End to end through the deployed template: order event in, saga outcome, events out."""

from __future__ import annotations

from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from localcloud.cloud import LocalCloud
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


def test_the_seed_example_completes_and_every_record_agrees(cloud: LocalCloud) -> None:
    # Given the seed's own example order
    before = stock(cloud)
    # When it is put on the bus
    cloud.put_order({"order_id": "order-123", "patient_id": "patient-456", "medications": ["med-1", "med-2"]})
    # Then the saga completes
    assert cloud.wait_for_sagas(["order-123"]) == {"order-123": "COMPLETED"}
    # and the stream holds exactly the expected events, in order
    assert [e.type for e in history(cloud, "order-123")] == HAPPY_PATH_EVENTS
    # and the projection agrees
    saga = view(cloud, "order-123")
    assert saga.state is SagaState.COMPLETED
    assert saga.steps_completed == ("create_prescription", "reserve_inventory", "initiate_shipment")
    assert saga.compensations_run == ()
    assert saga.version == 9
    assert saga.duration_seconds is not None
    # and every stored event was published on the bus, once or more
    stored_ids = {e.event_id for e in history(cloud, "order-123")}
    published_ids = {p["detail"]["event_id"] for p in published(cloud)}
    assert stored_ids <= published_ids
    # and the stock went down by the order's quantities
    after = stock(cloud)
    assert after["med-1"] == (before["med-1"][0] - 1, before["med-1"][1] + 1)
    assert after["med-2"] == (before["med-2"][0] - 1, before["med-2"][1] + 1)
    # and the execution went through the three steps only
    assert states_entered(cloud, "order-123") == STEPS


def test_prescription_failure_runs_only_cancel_order(cloud: LocalCloud) -> None:
    cloud.put_order(order("rx-fails", "med-1", "not-in-catalogue"))
    assert cloud.wait_for_sagas(["rx-fails"]) == {"rx-fails": "FAILED"}
    assert states_entered(cloud, "rx-fails") == ["Create Prescription", "Cancel Order", "Saga Failed"]
    saga = view(cloud, "rx-fails")
    assert saga.compensations_run == ("cancel_order",)
    assert saga.failed_step == "create_prescription"
    assert saga.failure_reason == "line 2: medication is not in the catalogue"
    assert records(cloud, "Prescriptions") == []


def test_inventory_failure_cancels_prescription_then_order(cloud: LocalCloud) -> None:
    before = stock(cloud)
    cloud.put_order(order("no-stock", "med-1", "med-scarce"))
    assert cloud.wait_for_sagas(["no-stock"]) == {"no-stock": "FAILED"}
    assert states_entered(cloud, "no-stock") == [
        "Create Prescription",
        "Reserve Inventory",
        "Cancel Prescription",
        "Cancel Order",
        "Saga Failed",
    ]
    assert view(cloud, "no-stock").compensations_run == ("cancel_prescription", "cancel_order")
    assert [p["status"]["S"] for p in records(cloud, "Prescriptions")] == ["CANCELLED"]
    assert stock(cloud) == before, "a refused reservation takes nothing, not even the lines in stock"


def test_shipment_failure_compensates_in_reverse_and_restores_stock_exactly(cloud: LocalCloud) -> None:
    before = stock(cloud)
    bad_address = {**US_ADDRESS, "postal_code": "not-a-zip"}
    cloud.put_order(order("bad-address", {"medication_id": "med-3", "quantity": 4}, shipping_address=bad_address))
    assert cloud.wait_for_sagas(["bad-address"]) == {"bad-address": "FAILED"}
    assert states_entered(cloud, "bad-address") == [
        *STEPS,
        "Release Inventory",
        "Cancel Prescription",
        "Cancel Order",
        "Saga Failed",
    ]
    assert view(cloud, "bad-address").compensations_run == ("release_inventory", "cancel_prescription", "cancel_order")
    assert stock(cloud) == before
    assert [r["status"]["S"] for r in records(cloud, "Reservations")] == ["RELEASED"]
    types = [e.type for e in history(cloud, "bad-address")]
    assert types.index(ev.InventoryReleased.TYPE_KEY) < types.index(ev.PrescriptionCancelled.TYPE_KEY)
    assert types.index(ev.PrescriptionCancelled.TYPE_KEY) < types.index(ev.OrderCancelled.TYPE_KEY)
    assert types[-2:] == [ev.OrderFulfillmentSagaFailed.TYPE_KEY, ev.OrderFulfillmentSagaStateChanged.TYPE_KEY]


def test_an_order_without_an_address_ships_to_the_address_on_file(cloud: LocalCloud) -> None:
    cloud.put_order(order("no-address", "med-1"))
    assert cloud.wait_for_sagas(["no-address"]) == {"no-address": "COMPLETED"}
    assert records(cloud, "Shipments")[0]["ships_to"]["S"] == "address_on_file"
