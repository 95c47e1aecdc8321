"""Cancelling an order while its saga runs (issue 25): a step already running when the cancellation
arrives is compensated once it ends, so nothing it creates survives (the undo-before-do rule)."""

from __future__ import annotations

import json
import time

import pytest

from harness.inprocess import InProcess
from harness.waiting import poll
from infra import names
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from tests.e2e.helpers import US_ADDRESS, executions, history, order, records, stock, view

LATENCY_MS = 4000
"""Long enough for the cancellation to arrive while the step still runs, on a loaded CI machine."""
LIVE = {"Prescriptions": "ACTIVE", "Reservations": "RESERVED", "Shipments": "INITIATED"}


def _cancel(cloud: InProcess, order_id: str, reason: str) -> None:
    detail = json.dumps({"order_id": order_id, "reason": reason})
    cloud.client("events").put_events(
        Entries=[
            {
                "EventBusName": cloud.output(names.OUTPUT_EVENT_BUS),
                "Source": "pharmacy.orders",
                "DetailType": "OrderCancellationRequested",
                "Detail": detail,
            }
        ]
    )


@pytest.mark.parametrize(
    ("step", "waiting_in"),
    [
        ("create_prescription", SagaState.PENDING_PRESCRIPTION),
        ("reserve_inventory", SagaState.PENDING_INVENTORY),
        ("initiate_shipment", SagaState.PENDING_SHIPMENT),
    ],
)
@pytest.mark.allow_errors("IllegalTransition", "ConcurrencyConflict")
def test_a_cancellation_while_a_step_runs_leaves_nothing_it_created(
    cloud: InProcess, step: str, waiting_in: SagaState
) -> None:
    # Given a step slow enough to be running when the cancellation arrives
    before = stock(cloud)
    cloud.set_faults({step: {"latency_ms": LATENCY_MS, "latency": 1.0}})
    order_id = f"cancel-in-{step}"
    cloud.put_order(order(order_id, "med-1", shipping_address=US_ADDRESS))
    poll(lambda: True if (v := cloud.projection().get(order_id)) and v.state is waiting_in else None, 20)
    _cancel(cloud, order_id, "the patient changed their mind")
    # Then the saga ends CANCELLED with the requester's reason
    assert cloud.wait_for_sagas([order_id], timeout=60) == {order_id: "CANCELLED"}
    assert view(cloud, order_id).failure_reason == "the patient changed their mind"
    [execution] = [e for e in executions(cloud) if e["name"] == order_id]
    assert execution["status"] == "ABORTED"
    # and once the slow step has ended, nothing it made is live, and the stock is whole
    time.sleep(LATENCY_MS / 1000 + 0.5)
    cloud.local.wait_until_idle()
    cloud.set_faults({})
    for table, live in LIVE.items():
        assert [r for r in records(cloud, table, order_id) if r.get("status", {}).get("S") == live] == []
    assert stock(cloud) == before
    # and the saga's stream says it was cancelled, never completed
    kinds = {type(s.to_domain()) for s in history(cloud, order_id)}
    assert ev.OrderFulfillmentSagaCancelled in kinds
    assert ev.OrderFulfillmentSagaCompleted not in kinds
