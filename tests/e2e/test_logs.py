"""What an operator searching the logs by order id finds: each function's lines about an order
carry its id as `correlation_id` (docs/operations.md, "Dashboard and alarms")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.inprocess import InProcess
from harness.orders import Kind, of_kind
from lambdas.logic.start import MAX_CONFLICTS_RECORDED


def _structured(lines: list[str]) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            continue  # START/END/REPORT lines of the runtime
        if isinstance(parsed, dict):
            found.append(parsed)
    return found


def test_the_starter_s_line_for_each_order_carries_that_order_s_id(cloud: InProcess) -> None:
    # Two orders: the second's line must not carry the first's id (one batch may hold both)
    orders = [of_kind(Kind.VALID, "log-1"), of_kind(Kind.INVALID, "log-2")]
    for order in orders:
        cloud.put_order(order)
    cloud.wait_for_sagas(["log-1", "log-2"])
    handled = [
        line for line in _structured(cloud.function_logs("start_saga")) if line.get("message") == "order handled"
    ]
    assert sorted((line["correlation_id"], line["outcome"]) for line in handled) == [
        ("log-1", "started"),
        ("log-2", "rejected"),
    ]


def test_the_steps_lines_carry_the_order_id_they_ran_for(cloud: InProcess) -> None:
    cloud.put_order(of_kind(Kind.VALID, "log-3"))
    cloud.wait_for_sagas(["log-3"])
    for step in ("create_prescription", "reserve_inventory", "initiate_shipment"):
        done = [line for line in _structured(cloud.function_logs(step)) if line.get("message") == "task done"]
        assert [line["correlation_id"] for line in done] == ["log-3"], step


def test_one_order_delivered_three_times_at_once_is_started_once_and_twice_a_duplicate(cloud: InProcess) -> None:
    # The deliveries race the saga's first step: Step Functions answers a StartExecution with a
    # running execution's name and input as a success, so only the input (which names the
    # delivering message) tells a duplicate from the start (OrdersAccepted vs DuplicateOrders).
    cloud.put_order_at_once(of_kind(Kind.VALID, "log-dup"), 3)
    cloud.wait_for_sagas(["log-dup"])
    cloud.local.wait_until_idle()
    handled = [
        line for line in _structured(cloud.function_logs("start_saga")) if line.get("message") == "order handled"
    ]
    assert sorted(line["outcome"] for line in handled if line["correlation_id"] == "log-dup") == [
        "duplicate",
        "duplicate",
        "started",
    ]


@pytest.mark.allow_errors("UnusableMessage", "BatchProcessingError")
def test_a_message_refused_after_its_order_id_was_read_is_logged_with_that_id(cloud: InProcess) -> None:
    # Past the conflicting orders one saga keeps, a message is unusable (to the dead-letter
    # queue); its order id was read and checked, so the operator can find it by that id.
    cloud.put_order(of_kind(Kind.VALID, "log-cap"))
    cloud.wait_for_sagas(["log-cap"])
    for n in range(MAX_CONFLICTS_RECORDED + 1):
        cloud.put_order(of_kind(Kind.VALID, "log-cap", patient_id=f"other-{n}"))
    cloud.local.wait_until_idle()
    refused = [
        line
        for line in _structured(cloud.function_logs("start_saga"))
        if line.get("message") == "unusable order message"
    ]
    assert refused, "the 21st conflicting order was refused"
    assert {line.get("correlation_id") for line in refused} == {"log-cap"}
    assert {"reason", "message_id"} <= set(refused[0])
