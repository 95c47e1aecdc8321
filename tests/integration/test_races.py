"""Races on the local cloud's DynamoDB: many orders competing for scarce stock never oversell."""

from __future__ import annotations

from harness.inprocess import InProcess
from harness.seed import set_stock
from lambdas.adapters.business_tables import DynamoDBInventory
from lambdas.domain.errors import InventoryReservationFailed
from lambdas.domain.order import OrderLine
from tests.concurrency import at_once
from tests.e2e.helpers import order, stock


def test_many_reservations_racing_for_scarce_stock_never_oversell(cloud: InProcess) -> None:
    dynamodb = cloud.client("dynamodb")
    tables = {t.split("-")[1][:-8]: t for t in dynamodb.list_tables()["TableNames"]}
    inventory = DynamoDBInventory(dynamodb, cloud.outputs["InventoryTableName"], tables["BusinessTablesReservations"])
    set_stock(cloud, "med-4", 7)

    def reserve(n: int) -> str:
        try:
            inventory.reserve(f"res-race-{n}", f"race-{n}", [OrderLine(medication_id="med-4", quantity=2)])
        except InventoryReservationFailed:
            return "refused"
        return "won"

    outcomes = at_once(20, reserve)
    won, refused = outcomes.count("won"), outcomes.count("refused")
    assert won == 3, "7 units, 2 per order: three orders, not one more"
    assert refused == 17
    assert stock(cloud)["med-4"] == (1, 6)


def test_sagas_racing_for_scarce_stock_end_with_exactly_the_stock_taken(cloud: InProcess) -> None:
    set_stock(cloud, "med-3", 5)
    ids = [f"scarce-{n}" for n in range(12)]
    at_once(len(ids), lambda n: cloud.put_order(order(ids[n], "med-3")))
    states = cloud.wait_for_sagas(ids, timeout=60)
    assert sorted(states.values()).count("COMPLETED") == 5
    assert sorted(states.values()).count("FAILED") == 7
    assert stock(cloud)["med-3"] == (0, 5)
