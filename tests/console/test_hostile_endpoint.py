"""A hostile web page against `saga local up`, in Chromium: it reads nothing, while the console still works.

The page is served from another loopback port, as any site the operator visits could serve it
(or a local dev server already running). It calls the endpoint's AWS APIs with a made-up
credential, which the local cloud takes as the account's administrator, and reads the console.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.cli.test_local_up import endpoint  # noqa: F401 - the fixture: `saga local up` as a user runs it
from tests.console.attack import AttackSite
from tests.console.conftest import chromium

ATTACK = """<!doctype html><meta charset="utf-8"><title>cat pictures</title>
<p id="aws">running</p><p id="page">running</p>
<script>
const ENDPOINT = "%(endpoint)s";
const AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
  + "SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64);
async function call(target, body) {
  const response = await fetch(ENDPOINT + "/", {method: "POST", body: JSON.stringify(body), headers: {
    "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810." + target,
    "authorization": AUTH, "x-amz-date": "20260101T000000Z"}});
  return response.json();
}
async function scan() {
  const tables = await call("ListTables", {});
  let items = 0;
  for (const table of tables.TableNames) { items += ((await call("Scan", {TableName: table})).Items || []).length; }
  return "read " + items + " items from " + tables.TableNames.length + " tables";
}
const show = (id, text) => { document.getElementById(id).textContent = text; };
scan().then(t => show("aws", t), e => show("aws", "blocked: " + e));
fetch(ENDPOINT + "/console/sagas").then(r => r.text()).then(
  t => show("page", "read the console: " + t.length + " characters"), e => show("page", "blocked: " + e));
</script>
"""


@pytest.fixture
def attack_page(endpoint: tuple[str, subprocess.Popen[str]]) -> Iterator[str]:  # noqa: F811
    with AttackSite() as site:
        yield site.serve("/cats", ATTACK % {"endpoint": endpoint[0]})


def _settled(browser: Any, element_id: str) -> str:
    WebDriverWait(browser, 20, poll_frequency=0.1).until(
        lambda b: b.find_element(By.ID, element_id).text not in ("", "running")
    )
    return str(browser.find_element(By.ID, element_id).text)


def test_a_page_of_another_loopback_port_reads_nothing_while_the_console_still_works(
    browser: Any,
    endpoint: tuple[str, subprocess.Popen[str]],  # noqa: F811
    attack_page: str,
) -> None:
    # Given `saga local up` with its demo data seeded, and a page of another origin open in the browser
    browser.get(attack_page)
    # Then the page's calls to the AWS APIs and its read of the console are refused before they run
    aws = _settled(browser, "aws")
    assert aws.startswith("blocked: TypeError"), aws
    assert _settled(browser, "page").startswith("blocked: TypeError"), "the page read the console"
    # And the console itself, opened by its own address, still shows the sagas
    browser.get(endpoint[0] + "/console/")
    WebDriverWait(browser, 20, poll_frequency=0.1).until(lambda b: b.title == "Sagas — Saga console")
    assert "order" in browser.find_element(By.TAG_NAME, "body").text.lower()


REBOUND = "rebind.evil.example"
"""The attacker's own name, which its DNS now answers with 127.0.0.1 (Chromium is told so by a resolver rule)."""


@pytest.fixture
def rebinding_browser() -> Iterator[Any]:
    yield from chromium(f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1")


def test_a_dns_rebinding_page_is_answered_with_a_refusal_not_the_console(
    rebinding_browser: Any,
    endpoint: tuple[str, subprocess.Popen[str]],  # noqa: F811
) -> None:
    # Given the attacker's name resolving to this machine: to the browser, its pages are same-origin with the endpoint
    port = endpoint[0].rsplit(":", 1)[1]
    rebound = f"http://{REBOUND}:{port}"
    # When its page opens the console's redrive confirmation (which carries an action token) under that name
    rebinding_browser.get(f"{rebound}/console/redrive")
    shown = rebinding_browser.find_element(By.TAG_NAME, "body").text
    # Then the browser shows the refusal, not the console: no token, no question, no data
    assert "not one this listener answers to" in shown
    assert not rebinding_browser.find_elements(By.ID, "confirm")
    # And a script of that page reading the AWS APIs same-origin is refused too
    status = rebinding_browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("/", {method: "POST", body: "{}", headers: {"content-type": "application/x-amz-json-1.0",
          "x-amz-target": "DynamoDB_20120810.ListTables", "authorization": arguments[0],
          "x-amz-date": "20260101T000000Z"}})
          .then(r => done(r.status), e => done(String(e)));""",
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    )
    assert status == 403
