"""The metrics page after a load, as a person sees it: every widget drawn, lines named by what they mean, time axes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from harness import load as loader
from harness import operations
from harness.inprocess import InProcess
from infra import names
from saga_console import metrics
from tests.e2e.helpers import US_ADDRESS, order

MIX = "valid=12,no-stock=2,unknown-med=2,undeliverable=2,duplicate=1,invalid=1"
"""A small load with every kind of order, so that each saga outcome the dashboard counts happens."""


def _a_resumed_saga(cloud: InProcess) -> None:
    """A saga parked by a failing compensation, then resumed: the compensation machine runs once."""
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(order("metrics-park", "med-3", shipping_address={**US_ADDRESS, "country": "AQ"}))
    assert cloud.wait_for_sagas(["metrics-park"]) == {"metrics-park": "COMPENSATION_FAILED"}
    cloud.set_faults({})
    assert operations.resume(cloud, "metrics-park", wait=30)["state"] == "FAILED"


def test_after_a_load_every_widget_has_lines_named_by_meaning_and_a_time_axis(
    cloud: InProcess, browser: Any, console_url: str, screenshot: Callable[[str], Path]
) -> None:
    # Given a load of 20 orders of every kind, and one parked saga resumed
    orders = loader.plan(20, loader.parse_mix(MIX), "metrics")
    loader.prepare_stock(cloud, len(orders))
    result = loader.run_load(cloud, orders, concurrency=4, timeout=120)
    assert not result.unfinished
    _a_resumed_saga(cloud)
    cloud.local.wait_until_idle()
    # When the operator opens the metrics page
    browser.get(console_url + "metrics")
    widgets = browser.find_elements(By.CSS_SELECTOR, "section.widget")
    assert len(widgets) == 13, "the stack's 13 metric widgets"
    for widget in widgets:
        title = widget.get_attribute("data-title")
        # Then every widget draws data: no "no data", points on the chart
        assert not widget.find_elements(By.CSS_SELECTOR, "p.empty"), f"{title}: no data"
        assert any(p.is_displayed() for p in widget.find_elements(By.CSS_SELECTOR, "svg.chart circle")), title
        # with a time axis (HH:MM ticks, five minutes apart) and a value axis from 0
        times = [t.text for t in widget.find_elements(By.CSS_SELECTOR, "g.x-axis text.tick")]
        assert len(times) >= 6, f"{title}: {times}"
        assert all(re.fullmatch(r"\d\d:\d\d", t) for t in times), times
        assert all(int(t[-2:]) % 5 == 0 for t in times), times
        values = [t.text for t in widget.find_elements(By.CSS_SELECTOR, "g.y-axis text.tick")]
        assert values[0] == "0", f"{title}: {values}"
        # and each line has its own colour and a name that says what it measures, not a physical name
        keys = widget.find_elements(By.CSS_SELECTOR, ".series-legend .series-key")
        colours = [k.get_attribute("data-colour") for k in keys]
        assert len(set(colours)) == len(colours), f"{title}: colours repeat {colours}"
        for key in keys:
            assert names.DEFAULT_STACK_NAME not in key.text, f"{title}: {key.text}"
            assert not re.search(r"[0-9A-F]{8}", key.text), f"{title}: a generated name {key.text}"
    lambda_errors = next(w for w in widgets if w.get_attribute("data-title") == "Lambda errors")
    named = {k.text.rsplit(" ", 1)[0] for k in lambda_errors.find_elements(By.CSS_SELECTOR, ".series-key")}
    assert set(names.ALL_FUNCTIONS) <= named, "each function by its name in the code"
    percentiles = next(w for w in widgets if w.get_attribute("data-title") == "Lambda duration p99 (ms)")
    assert percentiles.find_elements(By.CSS_SELECTOR, "polyline.series, circle")
    size = browser.get_window_size()
    try:
        browser.set_window_size(1280, 1900)
        # into screenshots/ (SAGA_SCREENSHOTS), as the other pages' tests do; docs/ holds the copy a person chose
        screenshot("console-metrics")
    finally:
        browser.set_window_size(size["width"], size["height"])


def test_a_dashboard_without_labels_names_functions_by_their_logical_name(cloud: InProcess) -> None:
    # Given a line of the dashboard with no label, on a function of the stack
    found = {
        f["Handler"]: f["FunctionName"]
        for f in cloud.client("lambda").list_functions()["Functions"]
        if f["Handler"] == names.handler_path(names.PROJECTOR)
    }
    physical = found[names.handler_path(names.PROJECTOR)]
    line = metrics._Line("AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": physical}], "Sum", None)
    # Then its legend names the function as the code does
    assert metrics._label(line, metrics._function_names(cloud)) == "Errors projector"


def test_a_queue_or_state_machine_is_shown_without_its_generated_parts() -> None:
    queue = "OrderFulfillment-OrderEventsStartQueue1A96A8CB-DC20SOWMWHH4"
    machine = (
        "arn:aws:states:us-east-1:123456789012:stateMachine:OrderFulfillment-SagaStateMachine2D1F7D68-7E08CBVEJO23"
    )
    assert metrics._short(queue) == "OrderEventsStartQueue"
    assert metrics._short(machine) == "SagaStateMachine"


def test_the_value_axis_ends_at_a_round_number_at_or_above_the_peak() -> None:
    assert [metrics.nice_ceiling(v) for v in (0, 0.3, 1, 3, 7, 12, 250)] == [1, 0.5, 1, 5, 10, 20, 500]
