"""A different order under a used order id is where an operator looks: `saga status` and `saga stats`."""

from __future__ import annotations

from harness.inprocess import InProcess
from tests.cli.invoking import saga, saga_json
from tests.e2e.helpers import order


def test_status_and_stats_show_a_conflicting_order_without_its_content(cloud: InProcess) -> None:
    cloud.put_order(order("cf-1", "med-1"))
    cloud.wait_for_sagas(["cf-1"])
    cloud.put_order({**order("cf-1", "med-1"), "patient_id": "patient-Qother"})
    cloud.local.wait_until_idle()
    found = saga_json("status", "cf-1")
    assert found["saga"]["conflicting_orders"] == 1
    [conflict] = [t for t in found["timeline"] if t["type"] == "order_fulfillment_saga.conflicting_order_received"]
    assert "patient_id" in conflict["note"]
    plain = saga("status", "cf-1")
    assert plain.exit_code == 0
    assert "conflicting orders: 1" in plain.stdout
    assert "patient-Qother" not in plain.stdout
    figures = saga_json("stats")
    assert (figures["conflicting_orders"], figures["sagas_with_conflicting_orders"]) == (1, 1)
    assert "1 conflicting orders recorded on 1 sagas" in saga("stats").stdout
