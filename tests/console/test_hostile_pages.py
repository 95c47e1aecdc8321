"""The console against a hostile page of another origin, in Chromium: it cannot frame the console or drive an action.

The attacker's page is served from another loopback port: another origin, as any web page an
operator has open is. The console must still work from its own tab, and every page must work
under its own Content-Security-Policy (no violation reported by the browser).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import BaseWSGIServer, make_server

from harness.inprocess import InProcess
from saga_console import reads
from saga_console.app import create_app
from saga_console.serve import console_server, running, url_of
from tests.console.attack import AttackSite
from tests.console.navigation import follow
from tests.e2e.helpers import US_ADDRESS, order

REFUSED = "only from a confirmation page of this console"
"""What the console answers a POST from another origin (saga_console/app.py)."""


@pytest.fixture
def attacker() -> Iterator[AttackSite]:
    with AttackSite() as site:
        yield site


@dataclass(frozen=True)
class Console:
    url: str
    alone: bool
    """The Flask app alone (its own checks must hold by themselves), or as `saga console` serves it."""


def app_server(cloud: InProcess) -> BaseWSGIServer:
    return make_server("127.0.0.1", 0, create_app(cloud), threaded=True)


def serving(server: BaseWSGIServer) -> Iterator[str]:
    with running(server):
        yield url_of(server)


@pytest.fixture(params=["app alone", "as served"])
def console(request: pytest.FixtureRequest, cloud: InProcess) -> Iterator[Console]:
    """The console under attack: its Flask app alone, or behind what serves it (saga_console/serve.py's guard)."""
    alone = request.param == "app alone"
    server = app_server(cloud) if alone else console_server(cloud, "127.0.0.1", 0)
    for url in serving(server):
        yield Console(url, alone)


@pytest.fixture
def app_alone(cloud: InProcess) -> Iterator[str]:
    """The console's Flask app alone: its pages must work under its own headers, whatever serves it."""
    yield from serving(app_server(cloud))


def dead_letter(cloud: InProcess, order_id: str) -> None:
    body = json.dumps({"detail": order(order_id, "med-1")})
    cloud.client("sqs").send_message(QueueUrl=cloud.outputs["DeadLetterQueueUrl"], MessageBody=body)


def token_read_over_http(confirmation_page: str) -> str:
    """The token of a confirmation page, read by plain HTTP as a rebinding page (same origin to the browser) could."""
    with urllib.request.urlopen(confirmation_page) as answer:
        page = answer.read().decode()
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token, "the confirmation page carries a token"
    return token.group(1)


def parked_saga(cloud: InProcess, order_id: str) -> None:
    """A saga parked because Release Inventory keeps failing (as in test_pages.py), its fault then fixed."""
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(order(order_id, "med-3", shipping_address={**US_ADDRESS, "country": "AQ"}))
    assert cloud.wait_for_sagas([order_id]) == {order_id: "COMPENSATION_FAILED"}
    cloud.set_faults({})


def resumes_started(cloud: InProcess) -> list[Any]:
    machine = cloud.outputs["ResumeStateMachineArn"]
    return list(cloud.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])


def navigation_status(browser: Any) -> int:
    """The HTTP status of the page the browser shows (Navigation Timing's responseStatus)."""
    return int(browser.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus"))


def test_a_page_of_another_origin_cannot_frame_the_redrive_confirmation_nor_click_its_button(
    cloud: InProcess, browser: Any, console: Console, attacker: AttackSite, screenshot: Callable[[str], Path]
) -> None:
    # Given a message in the dead-letter queue, and where the confirmation's button is in a window of this size
    dead_letter(cloud, "web-framed")
    browser.get(console.url + "redrive")
    button = browser.execute_script(
        "var r = document.getElementById('confirm').getBoundingClientRect();"
        "return [r.left + r.width / 2, r.top + r.height / 2];"
    )
    # When a page of another origin frames the confirmation over its whole window
    framing = attacker.serve(
        "/prize",
        '<!doctype html><html><body style="margin:0">'
        f'<iframe id="console" src="{console.url}redrive" '
        'style="position:absolute;left:0;top:0;width:100%;height:100%;border:0"></iframe></body></html>',
    )
    browser.get(framing)
    # Then nothing of the console renders in the frame
    browser.switch_to.frame("console")
    try:
        assert browser.find_elements(By.ID, "confirm") == []
        assert browser.find_elements(By.ID, "question") == []
    finally:
        browser.switch_to.default_content()
    if console.alone:
        screenshot("attack-framed-redrive")
    # And a click where the button would be moves nothing
    click = ActionBuilder(browser)
    pointer: Any = click.pointer_action  # selenium leaves it untyped
    pointer.move_to_location(round(button[0]), round(button[1])).click()
    click.perform()
    browser.get(console.url + "operations")
    assert browser.find_element(By.ID, "dlq-depth").text == "1"
    assert reads.dead_letter_depth(cloud) == 1


def submit_from_another_origin(browser: Any, attacker: AttackSite, action: str, token: str) -> None:
    """A page of another origin that submits the confirmation's form itself; returns once the answer is shown."""
    browser.get(
        attacker.serve(
            "/forge",
            f'<!doctype html><html><body><form id="f" method="post" action="{action}">'
            f'<input type="hidden" name="token" value="{token}"><input type="hidden" name="confirm" value="yes">'
            "</form><script>document.getElementById('f').submit();</script></body></html>",
        )
    )
    WebDriverWait(browser, 20, poll_frequency=0.1).until(
        lambda b: (
            not b.current_url.startswith(attacker.origin)
            and b.execute_script("return document.readyState") == "complete"
        )
    )


def assert_refused(browser: Any, console: Console, action: str) -> None:
    assert browser.current_url == action, "the answer is the POST's own, not a redirect to the result"
    assert navigation_status(browser) == 403
    if console.alone:  # the app's own refusal, saying why
        assert REFUSED in browser.find_element(By.ID, "error").text


def test_a_page_of_another_origin_posting_a_redrive_with_a_valid_token_is_refused(
    cloud: InProcess, browser: Any, console: Console, attacker: AttackSite
) -> None:
    # Given a message in the dead-letter queue and a token the attacker read from the console
    dead_letter(cloud, "web-forged")
    token = token_read_over_http(console.url + "redrive")
    # When a page of another origin submits the confirmation's form itself
    submit_from_another_origin(browser, attacker, console.url + "redrive", token)
    # Then the console refuses it (403) and moves nothing
    assert_refused(browser, console, console.url + "redrive")
    assert reads.dead_letter_depth(cloud) == 1


def test_a_page_of_another_origin_posting_a_resume_with_a_valid_token_is_refused(
    cloud: InProcess, browser: Any, console: Console, attacker: AttackSite
) -> None:
    parked_saga(cloud, "web-forged-resume")
    action = console.url + "sagas/web-forged-resume/resume"
    submit_from_another_origin(browser, attacker, action, token_read_over_http(action))
    assert_refused(browser, console, action)
    assert resumes_started(cloud) == []
    assert cloud.wait_for_sagas(["web-forged-resume"]) == {"web-forged-resume": "COMPENSATION_FAILED"}


def shown(browser: Any, element_id: str) -> str:
    """The text of an element of the page a form's POST leads to (the click returns before it is loaded)."""
    WebDriverWait(browser, 20, poll_frequency=0.1).until(lambda b: b.find_elements(By.ID, element_id))
    return str(browser.find_element(By.ID, element_id).text)


def test_the_console_redrives_from_its_own_confirmation_page_once_per_confirmation(
    cloud: InProcess, browser: Any, console: Console
) -> None:
    # Given an order in the dead-letter queue
    dead_letter(cloud, "web-redrive")
    # When the operator redrives it from the operations page, confirming
    browser.get(console.url + "operations")
    follow(browser, "redrive")
    assert "Move the 1 message(s)" in browser.find_element(By.ID, "question").text
    assert browser.find_element(By.ID, "cancel").get_attribute("href") == console.url + "operations"
    spent = browser.find_element(By.NAME, "token").get_attribute("value")
    follow(browser, "confirm")
    # Then the page says what moved, and the order completes
    assert "moved 1 message(s)" in shown(browser, "moved")
    assert cloud.wait_for_sagas(["web-redrive"]) == {"web-redrive": "COMPLETED"}
    # And the spent token, sent again from a confirmation page of the console, is refused
    dead_letter(cloud, "web-redrive-again")
    browser.get(console.url + "redrive")
    browser.execute_script("document.querySelector('input[name=token]').value = arguments[0]", spent)
    follow(browser, "confirm")
    assert "confirm again" in shown(browser, "error")
    assert reads.dead_letter_depth(cloud) == 1


VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""
"""Installed in every document before its own scripts run, to collect what the browser blocks."""

STYLE_ATTRIBUTE_APPLIES = """
var probe = document.createElement('div');
probe.setAttribute('style', 'width: 123px');
document.body.appendChild(probe);
var applied = probe.offsetWidth === 123;
probe.remove();
return applied;
"""
"""Whether a style attribute takes effect: false once the page's CSP is in force."""


def test_every_page_works_under_the_consoles_content_security_policy(
    cloud: InProcess, browser: Any, app_alone: str
) -> None:
    parked_saga(cloud, "web-csp")
    cloud.put_order(order("web-csp-ok", "med-1"))
    cloud.wait_for_sagas(["web-csp-ok"])
    dead_letter(cloud, "web-csp-dead")
    cloud.local.wait_until_idle()
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATIONS})
    try:
        for page in (
            "sagas",
            "sagas?state=compensation_failed",
            "sagas/web-csp",
            "sagas/web-csp?patient_data=1",
            "sagas/web-csp-ok",
            "operations",
            "metrics",
            "redrive",
            "sagas/web-csp/resume",
            "sagas/nobody",
        ):
            browser.get(app_alone + page)
            # The live refresh, run now rather than waited for: its fragment must render under the policy too
            browser.execute_async_script(
                "var done = arguments[arguments.length - 1], live = document.getElementById('live');"
                "if (!live) { done(); return; }"
                "fetch(live.getAttribute('data-live')).then(function (r) { return r.text(); })"
                ".then(function (html) { live.innerHTML = html; done(); });"
            )
            assert browser.execute_script("return window.cspViolations") == [], page
            # And the policy is in force: a style attribute is blocked, and reported to the listener
            assert browser.execute_script(STYLE_ATTRIBUTE_APPLIES) is False, f"{page}: no policy in force"
            WebDriverWait(browser, 20, poll_frequency=0.1).until(
                lambda b: b.execute_script("return window.cspViolations.length") == 1
            )
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


LONG = "x" * 5000


def assert_fits_the_window(browser: Any, what: str) -> None:
    width, window = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"{what}: {width} px wide in a {window} px window"


def test_long_client_values_wrap_instead_of_widening_the_page(
    cloud: InProcess, browser: Any, app_alone: str, screenshot: Callable[[str], Path]
) -> None:
    # Given an order with a 5,000-character metadata value, and a rejected one with a 5,000-character key
    cloud.put_order(order("web-long", "med-1", metadata={"note": LONG}))
    cloud.put_order({"order_id": "web-long-key", "patient_id": "patient-of-web-long-key", LONG: LONG})
    cloud.wait_for_sagas(["web-long", "web-long-key"])
    assert browser.get_window_size()["width"] == 1280
    # Then no page is wider than the window: the saga pages with patient data shown, the list, a long search, an error
    for page in (
        "sagas/web-long?patient_data=1",
        "sagas/web-long-key?patient_data=1",
        "sagas/web-long-key",
        "sagas",
        "sagas?state=rejected",
        f"sagas?q={LONG}",
        f"sagas?state={LONG}",
        f"sagas/{LONG}",
        f"operations?moved={LONG}",
    ):
        browser.get(app_alone + page)
        assert_fits_the_window(browser, page[:40])
    browser.get(app_alone + "sagas/web-long?patient_data=1")
    assert LONG in browser.find_element(By.CSS_SELECTOR, "pre.payload").text.replace("\n", ""), "shown whole"
    screenshot("console-long-values")
