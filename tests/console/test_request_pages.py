"""A saga waiting for a pharmacist as a person sees it in the console, and verified, rejected or cancelled from
its page through the confirmation page (a real browser, on a stack whose sagas wait for a pharmacist)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from harness.inprocess import InProcess
from lambdas.domain import events as ev
from lambdas.logic.repository import SagaRepository
from saga_console.serve import console_server, running, url_of
from tests.console.navigation import follow
from tests.console.test_pages import PRIVATE, WebDriverWait, fills, seen_as, visible_text
from tests.e2e.helpers import history
from tests.verifying_stack import task_token, verifying, verifying_assembly, waiting

__all__ = ["verifying", "verifying_assembly"]  # fixtures, used by name


@pytest.fixture
def console(verifying: InProcess) -> Iterator[str]:
    server = console_server(verifying, "127.0.0.1", 0)
    with running(server):
        yield url_of(server)


def text_of(browser: Any, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def confirm_with(browser: Any, button: str, **fields: str) -> str:
    """Click the saga page's `button`, fill the confirmation page's fields, confirm: the question it asked."""
    WebDriverWait(browser, 10, poll_frequency=0.1).until(lambda b: b.find_element(By.ID, button).is_displayed())
    follow(browser, button)
    question = text_of(browser, "question")
    for name, value in fields.items():
        browser.find_element(By.ID, f"field-{name}").send_keys(value)
    follow(browser, "confirm")
    return question


def test_a_waiting_saga_shows_since_and_until_when_and_is_verified_from_its_page(
    verifying: InProcess, browser: Any, console: str, screenshot: Callable[[str], Path]
) -> None:
    # Given a saga waiting for a pharmacist
    waiting(verifying, "p-ok")
    [requested] = [e for e in history(verifying, "p-ok") if e.type == ev.PrescriptionVerificationRequested.TYPE_KEY]
    deadline = ev.PrescriptionVerificationRequested.model_validate(requested.payload).deadline_at
    browser.get(console + "sagas/p-ok")
    # Then its page says it waits, since when and until when, in its state and on the graph's waiting state
    assert text_of(browser, "saga-state") == "PENDING_VERIFICATION"
    assert text_of(browser, "waiting-since") == f"{requested.occurred_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    assert text_of(browser, "waiting-until") == f"{deadline.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    assert "Verify Prescription" in text_of(browser, "waiting")
    node = browser.find_element(By.CSS_SELECTOR, 'g.node[data-state="Verify Prescription"]')
    assert seen_as(fills(browser)["Verify Prescription"]) == "blue", "in progress, as Step Functions draws it"
    assert f"waiting until {deadline.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in node.text
    assert text_of(browser, "verification-decision") == "none yet"
    screenshot("console-waiting-for-a-pharmacist")
    assert not [p for p in PRIVATE if p in browser.page_source], "patient data on the page"
    token = task_token(verifying, "p-ok")
    assert token not in browser.page_source, "the waiting task's token stays inside the stack"
    # When the operator verifies it, naming the pharmacist, and confirms
    question = confirm_with(browser, "verify", pharmacist_id="ph-web")
    assert "p-ok is PENDING_VERIFICATION" in question
    # Then the page says it was sent, and follows the saga to COMPLETED, verified by that pharmacist
    assert "Sent the pharmacist's verification" in text_of(browser, "sent")
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda b: text_of(b, "saga-state") == "COMPLETED")
    # (the notice stays while the page follows the saga: it vanished at the first live refresh before)
    assert "Sent the pharmacist's verification" in text_of(browser, "sent")
    assert text_of(browser, "verification-decision").startswith("verified at ")
    assert text_of(browser, "verification-pharmacist") == "ph-web"
    assert not browser.find_elements(By.ID, "verify"), "no request to verify a saga that does not wait"
    assert not browser.find_elements(By.ID, "cancel-order"), "a completed saga cannot be cancelled"


def test_a_rejection_from_the_page_fails_the_saga_with_the_pharmacists_reason(
    verifying: InProcess, browser: Any, console: str
) -> None:
    waiting(verifying, "p-no")
    browser.get(console + "sagas/p-no")
    confirm_with(browser, "reject", pharmacist_id="ph-web", reason="interacts with warfarin")
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda b: text_of(b, "saga-state") == "FAILED")
    assert text_of(browser, "verification-reason") == "interacts with warfarin"
    assert text_of(browser, "verification-pharmacist") == "ph-web"
    assert "cancel prescription → cancel order" in text_of(browser, "compensations")


def test_a_cancellation_from_the_page_ends_the_saga_cancelled(verifying: InProcess, browser: Any, console: str) -> None:
    waiting(verifying, "p-stop")
    browser.get(console + "sagas/p-stop")
    question = confirm_with(browser, "cancel-order", reason="the patient moved")
    assert "OrderCancellationRequested" in question
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda b: text_of(b, "saga-state") == "CANCELLED")
    assert "the patient moved" in text_of(browser, "cancellation")
    assert not browser.find_elements(By.ID, "cancel-order")
    # The state the cancellation stopped the execution in is drawn stopped, not failed: nothing failed
    stopped = browser.find_element(By.CSS_SELECTOR, 'g.node[data-state="Verify Prescription"]')
    assert stopped.get_attribute("data-outcome") == "aborted"
    assert seen_as(fills(browser)["Verify Prescription"]) == "grey"
    assert "stopped" in browser.find_element(By.CSS_SELECTOR, ".legend").text
    # And the list offers the new states, with their counts
    browser.get(console + "sagas")
    cancelled = browser.find_element(By.CSS_SELECTOR, '.filter[data-group="cancelled"]')
    assert cancelled.text == "cancelled 1"
    assert browser.find_element(By.CSS_SELECTOR, '.filter[data-group="pending_verification"]').text == (
        "waiting for a pharmacist 0"
    )
    follow(browser, cancelled)
    rows = [r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#sagas tbody tr")]
    assert rows == ["p-stop"]
    assert (
        seen_as(
            browser.execute_script(
                "return getComputedStyle(arguments[0]).backgroundColor",
                browser.find_element(By.CSS_SELECTOR, "#sagas .state"),
            )
        )
        == "grey"
    )


def test_what_a_pharmacist_sent_and_the_sagas_why_are_shown_as_text(
    verifying: InProcess, browser: Any, console: str
) -> None:
    # Given a completed saga, then an answer naming a pharmacist with markup, recorded with the saga's why
    waiting(verifying, "p-twice")
    repository = SagaRepository(verifying.event_store(), source="tests")
    decided = repository.load("p-twice")
    decided.answer_verification("verified", "ph-1", datetime.now(UTC))
    hostile = '<img src=x onerror="window.pwned=1"><b>ph</b>'
    decided.answer_verification("rejected", hostile, datetime.now(UTC), "<i>private words</i>")
    repository.save(decided, causation_id=None)
    browser.get(console + "sagas/p-twice")
    # Then each is text: the id as typed, the why in the saga's words, the ignored rejection's reason not at all
    unapplied = text_of(browser, "unapplied")
    assert f"rejected by {hostile}: the prescription was verified already" in unapplied
    assert browser.execute_script("return window.pwned") is None
    assert "private words" not in visible_text(browser)
