"""A parked saga's page before and after resumes, as a person sees it: every execution, what the last did, why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from harness.inprocess import InProcess
from harness.orders import US_ADDRESS, order
from tests.console.navigation import follow
from tests.console.test_pages import WebDriverWait, fills, seen_as

pytestmark = pytest.mark.usefixtures("cloud")

FAULT = "InjectedPermanentFault"
"""What the fault plan's `permanent` fault raises (harness/faults.py)."""
UNDONE_AFTER_SHIPMENT = "Release Inventory → Cancel Prescription → Cancel Order"
"""A saga refused at shipment is undone in reverse order of its steps (README's graph)."""


def text_of(browser: Any, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def after_a_live_refresh(browser: Any) -> None:
    """Wait until the page's live refresh replaced its fragment once (a mark set on the old one is gone)."""
    browser.execute_script("document.getElementById('saga-state').setAttribute('data-old', '1')")
    WebDriverWait(browser, 20, poll_frequency=0.1).until(
        lambda b: b.find_element(By.ID, "saga-state").get_attribute("data-old") is None
    )


def park(cloud: InProcess, order_id: str) -> None:
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(order(order_id, "med-3", shipping_address={**US_ADDRESS, "country": "AQ"}))
    assert cloud.wait_for_sagas([order_id]) == {order_id: "COMPENSATION_FAILED"}


def resume_from_the_page(browser: Any, console_url: str, order_id: str) -> None:
    browser.get(console_url + f"sagas/{order_id}")
    follow(browser, "resume")
    follow(browser, "confirm")
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda b: b.find_elements(By.ID, "resumed"))


def test_a_resumed_saga_shows_every_execution_and_what_the_last_one_did(
    cloud: InProcess, browser: Any, console_url: str, screenshot: Callable[[str], Path]
) -> None:
    # Given a parked saga
    park(cloud, "web-resumed")
    browser.set_window_size(1280, 1900)
    browser.get(console_url + "sagas/web-resumed")
    # The parked panel names the error once (its kept cause is the same name)
    assert text_of(browser, "parked").count(FAULT) == 1
    screenshot("console-parked-before-resume")
    # When the operator resumes it while the fault is still there
    resume_from_the_page(browser, console_url, "web-resumed")
    assert cloud.wait_for_sagas(["web-resumed"]) == {"web-resumed": "COMPENSATION_FAILED"}
    # Then the page says the resume failed again, and why
    expected = f"resume 1 (FAILED) ran Release Inventory (failed: {FAULT}): the saga is COMPENSATION_FAILED"
    WebDriverWait(browser, 20, poll_frequency=0.2).until(lambda b: expected in text_of(b, "last-did"))
    assert "-resume-" in text_of(browser, "parked"), "parked again by the resume"
    # When the fault is fixed and the operator resumes it again
    cloud.set_faults({})
    resume_from_the_page(browser, console_url, "web-resumed")
    assert cloud.wait_for_sagas(["web-resumed"]) == {"web-resumed": "FAILED"}
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda b: text_of(b, "saga-state") == "FAILED")
    after_a_live_refresh(browser)
    # Then the page agrees with its header: three executions, the last undid the rest, the notice stayed
    assert text_of(browser, "last-did") == f"Last: resume 2 (SUCCEEDED) ran {UNDONE_AFTER_SHIPMENT}: the saga is FAILED"
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#executions h3")]
    assert [h.split(":")[0] for h in headings] == ["1. the saga's execution", "2. resume 1", "3. resume 2"]
    assert "Resume started" in text_of(browser, "resumed")
    resume_rows = browser.find_elements(By.CSS_SELECTOR, "#states-3 tbody tr td:first-child")
    assert [r.text for r in resume_rows if r.text in UNDONE_AFTER_SHIPMENT] == UNDONE_AFTER_SHIPMENT.split(" → ")
    # A Fail state runs no task (it has no Resource in the States Language): no attempts, not "0"
    first = browser.find_elements(By.CSS_SELECTOR, "#states tbody tr")
    cells = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[2].text for r in first}
    assert cells["Compensation Failed"] == "—"
    assert cells["Release Inventory"] == "7", "1 try and the 6 retries the README gives compensations"
    # and the graph draws the compensations the resume ran as done, not "not reached"
    colours = fills(browser)
    for state in UNDONE_AFTER_SHIPMENT.split(" → "):
        assert seen_as(colours[state]) == "green", state
    screenshot("console-parked-after-resume")
    browser.set_window_size(1280, 1000)


def test_the_parked_list_says_which_compensation_failed_and_why(
    cloud: InProcess, browser: Any, console_url: str
) -> None:
    park(cloud, "web-parked-list")
    cloud.set_faults({})
    browser.get(console_url + "sagas?state=compensation_failed")
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-order="web-parked-list"]').text
    assert f"Release Inventory failed: {FAULT}" in row


def test_a_saga_that_is_not_parked_is_refused_a_resume_not_offered_a_form(
    cloud: InProcess, browser: Any, console_url: str
) -> None:
    cloud.put_order(order("web-not-parked", "med-1", "med-3"))
    assert cloud.wait_for_sagas(["web-not-parked"]) == {"web-not-parked": "COMPLETED"}
    browser.get(console_url + "sagas/web-not-parked/resume")
    assert not browser.find_elements(By.ID, "confirm")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "web-not-parked is COMPLETED: only a COMPENSATION_FAILED saga can be resumed" in body
