"""The console as a person sees it in a browser: what is visible, and the colours of the graph's nodes."""

from __future__ import annotations

import colorsys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait as SeleniumWait

from harness.inprocess import InProcess
from tests.console.navigation import follow
from tests.e2e.helpers import US_ADDRESS, order


def WebDriverWait(browser: Any, timeout: float, poll_frequency: float) -> SeleniumWait[Any]:
    """Selenium's wait, also through an element the page's live refresh replaced while it was read."""
    return SeleniumWait(
        browser, timeout, poll_frequency=poll_frequency, ignored_exceptions=(StaleElementReferenceException,)
    )


pytestmark = pytest.mark.usefixtures("cloud")

PRIVATE = ("patient-of-", "med-1", "med-3", "med-404", "med-scarce", "Springfield", "1 Main St")
"""What the orders below carry that no page may show unless asked: patient ids, medications, addresses."""


def seen_as(computed: str) -> str:
    """The colour a person names for a computed `rgb(r, g, b)`: the Step Functions console's
    convention is what the graph must follow (green succeeded, red failed, orange caught error,
    blue in progress, pale grey not reached), whatever exact shades the page picks."""
    r, g, b = (int(part) / 255 for part in computed.removeprefix("rgb(").rstrip(")").split(","))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation < 0.3 or lightness > 0.85:
        return "grey"
    degrees = hue * 360
    for name, upper in (("red", 15), ("orange", 45), ("yellow", 70), ("green", 170), ("blue", 260)):
        if degrees < upper:
            return name
    return "red" if degrees >= 340 else "purple"


def visible_text(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def wait_for_text(browser: Any, text: str, timeout: float = 20) -> None:
    WebDriverWait(browser, timeout, poll_frequency=0.1).until(lambda b: text in visible_text(b))


def fills(browser: Any) -> dict[str, str]:
    """The computed fill of every node of the graph, by state name."""
    nodes = browser.find_elements(By.CSS_SELECTOR, "svg.graph g.node")
    return {
        n.get_attribute("data-state"): browser.execute_script(
            "return getComputedStyle(arguments[0].querySelector('rect')).fill", n
        )
        for n in nodes
    }


def assert_private_data_hidden(browser: Any) -> None:
    shown = browser.page_source
    assert not [p for p in PRIVATE if p in shown], "patient data on the page"


def test_the_list_shows_sagas_newest_first_and_filters_by_state(
    cloud: InProcess, browser: Any, console_url: str, screenshot: Callable[[str], Path]
) -> None:
    # Given a completed, a failed and a rejected saga
    cloud.put_order(order("web-ok", "med-1"))
    cloud.put_order(order("web-no-stock", "med-scarce"))
    cloud.put_order({"order_id": "web-bad", "patient_id": "patient-of-web-bad"})
    cloud.wait_for_sagas(["web-ok", "web-no-stock", "web-bad"])
    # When the operator opens the list
    browser.get(console_url)
    rows = [r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#sagas tbody tr")]
    assert set(rows) == {"web-ok", "web-no-stock", "web-bad"}
    text = visible_text(browser)
    assert "completed 1" in text
    assert "failed 1" in text
    assert "rejected 1" in text
    screenshot("console-list")
    assert_private_data_hidden(browser)
    # Then the "failed" filter shows only the failed saga
    follow(browser, browser.find_element(By.CSS_SELECTOR, '.filter[data-group="failed"]'))
    rows = [r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#sagas tbody tr")]
    assert rows == ["web-no-stock"]
    assert "FAILED" in visible_text(browser)
    # And a search by order id finds one saga
    browser.get(console_url + "sagas?q=web-ok")
    rows = [r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#sagas tbody tr")]
    assert rows == ["web-ok"]


def test_a_new_saga_arrives_on_the_list_without_reloading(cloud: InProcess, browser: Any, console_url: str) -> None:
    browser.get(console_url + "sagas")
    browser.execute_script("window.notReloaded = true")
    cloud.put_order(order("web-live", "med-1"))
    wait_for_text(browser, "web-live")
    cloud.wait_for_sagas(["web-live"])
    WebDriverWait(browser, 20, poll_frequency=0.1).until(
        lambda b: "COMPLETED" in b.find_element(By.CSS_SELECTOR, '#sagas tr[data-order="web-live"]').text
    )
    assert browser.execute_script("return window.notReloaded") is True


def test_a_completed_saga_is_drawn_green_along_its_path(cloud: InProcess, browser: Any, console_url: str) -> None:
    cloud.put_order(order("web-done", "med-1", "med-3"))
    cloud.wait_for_sagas(["web-done"])
    browser.get(console_url + "sagas/web-done")
    assert "COMPLETED" in browser.find_element(By.ID, "saga-state").text
    assert browser.find_element(By.ID, "execution-status").text == "SUCCEEDED"
    colours = fills(browser)
    for state in ("Start", "Create Prescription", "Reserve Inventory", "Initiate Shipment", "End"):
        assert seen_as(colours[state]) == "green", state
    for state in ("Cancel Prescription", "Release Inventory", "Cancel Order", "Saga Failed", "Compensation Failed"):
        assert seen_as(colours[state]) == "grey", state
    assert "order_fulfillment_saga.completed" in visible_text(browser)
    assert_private_data_hidden(browser)


COMPENSATED = {
    "web-at-prescription": (
        order("web-at-prescription", "med-404"),
        "Create Prescription",
        ["Cancel Order"],
        "PrescriptionFailed",
    ),
    "web-at-inventory": (
        order("web-at-inventory", "med-3", "med-scarce"),
        "Reserve Inventory",
        ["Cancel Prescription", "Cancel Order"],
        "InventoryReservationFailed",
    ),
    "web-at-shipment": (
        order("web-at-shipment", "med-1", shipping_address={**US_ADDRESS, "country": "AQ"}),
        "Initiate Shipment",
        ["Release Inventory", "Cancel Prescription", "Cancel Order"],
        "ShipmentInitiationFailed",
    ),
}


def test_a_saga_compensated_at_each_step_shows_the_caught_error_and_its_compensations(
    cloud: InProcess, browser: Any, console_url: str, screenshot: Callable[[str], Path]
) -> None:
    for detail, *_ in COMPENSATED.values():
        cloud.put_order(detail)
    assert set(cloud.wait_for_sagas(list(COMPENSATED)).values()) == {"FAILED"}
    for order_id, (_, failed_step, compensations, error) in COMPENSATED.items():
        browser.get(console_url + f"sagas/{order_id}")
        colours = fills(browser)
        assert seen_as(colours[failed_step]) == "orange", order_id
        for state in compensations:
            assert seen_as(colours[state]) == "green", (order_id, state)
        assert seen_as(colours["Saga Failed"]) == "red"
        assert seen_as(colours["End"]) == "grey"
        labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "svg.graph .caught-label")]
        assert labels == [f"caught {error}"], order_id
        assert browser.find_element(By.ID, "execution-status").text == "FAILED"
        assert compensations[-1].lower() in browser.find_element(By.ID, "compensations").text
        assert_private_data_hidden(browser)
        if order_id == "web-at-shipment":
            browser.set_window_size(1280, 1900)
            screenshot("console-compensated-saga")
            browser.set_window_size(1280, 1000)


def test_a_parked_saga_shows_its_failing_compensation_and_is_resumed_from_the_page(
    cloud: InProcess, browser: Any, console_url: str
) -> None:
    # Given a saga parked because Release Inventory keeps failing
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(order("web-park", "med-3", shipping_address={**US_ADDRESS, "country": "AQ"}))
    assert cloud.wait_for_sagas(["web-park"]) == {"web-park": "COMPENSATION_FAILED"}
    browser.get(console_url + "sagas/web-park")
    parked = browser.find_element(By.ID, "parked").text
    assert "release inventory failed with" in parked
    assert "after 7 attempts" in parked, "1 try and the 6 retries the README gives compensations"
    assert browser.find_element(By.ID, "parked-error").text
    retries = browser.find_element(By.CSS_SELECTOR, 'g.node[data-state="Release Inventory"]')
    assert int(retries.get_attribute("data-retries")) > 0
    assert "retries:" in retries.text
    # When the fault is fixed and the operator resumes it from the page, confirming
    cloud.set_faults({})
    follow(browser, "resume")
    assert "COMPENSATION_FAILED" in browser.find_element(By.ID, "question").text
    follow(browser, "confirm")
    # Then the page follows the saga to FAILED: every compensation ran
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda b: b.find_element(By.ID, "saga-state").text == "FAILED")
    assert cloud.wait_for_sagas(["web-park"]) == {"web-park": "FAILED"}
