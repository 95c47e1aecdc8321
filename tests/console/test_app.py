"""The console's routes through Flask's test client: refusals, patient data on request, paging, errors."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from harness.inprocess import InProcess
from saga_console import app as console_app
from saga_console import reads
from saga_console.app import create_app
from saga_console.confirmations import ActionTokens
from tests.e2e.helpers import order

OWN_ORIGIN = {"Origin": "http://localhost"}
"""What a browser sends with a form POST from a page of the test client's console (Host `localhost`)."""


def token_of(client: FlaskClient, confirmation_page: str) -> str:
    form = client.get(confirmation_page).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', form)
    assert token, "the confirmation page carries a token"
    return token.group(1)


def test_actions_are_refused_off_loopback_unless_allowed(cloud: InProcess) -> None:
    exposed = create_app(cloud, host="0.0.0.0").test_client()
    page = exposed.get("/console/redrive").get_data(as_text=True)
    assert "Actions are refused" in page
    assert 'name="token"' not in page
    assert exposed.post("/console/redrive", data={"confirm": "yes"}, headers=OWN_ORIGIN).status_code == 403
    allowed = create_app(cloud, host="0.0.0.0", allow_actions=True).test_client()
    token = token_of(allowed, "/console/redrive")
    answer = allowed.post("/console/redrive", data={"confirm": "yes", "token": token}, headers=OWN_ORIGIN)
    assert answer.status_code == 303


def test_an_action_needs_the_confirmation_pages_token(cloud: InProcess) -> None:
    client = create_app(cloud).test_client()
    assert client.post("/console/redrive", data={"confirm": "yes"}, headers=OWN_ORIGIN).status_code == 400
    token = token_of(client, "/console/redrive")
    moved = client.post(
        "/console/redrive", data={"confirm": "yes", "token": token}, headers=OWN_ORIGIN, follow_redirects=True
    )
    assert "moved 0 message(s)" in moved.get_data(as_text=True)


def confirm(client: FlaskClient, action: str, token: str, origin: dict[str, str] = OWN_ORIGIN) -> TestResponse:
    """The POST a confirmation page's form sends (origin: the headers the browser adds)."""
    return client.post(action, data={"confirm": "yes", "token": token}, headers=origin)


def dead_letter(cloud: InProcess, order_id: str) -> None:
    """A valid order in the dead-letter queue, as one lands there while something is broken."""
    body = json.dumps({"detail": order(order_id, "med-1")})
    cloud.client("sqs").send_message(QueueUrl=cloud.outputs["DeadLetterQueueUrl"], MessageBody=body)


@pytest.mark.parametrize(
    "origin",
    [
        None,  # a client that sends none (curl, a script): not a page of this console
        "null",  # a sandboxed frame, a file: page, a page under Referrer-Policy no-referrer
        "http://127.0.0.1:8081",  # another port on the same loopback: another origin
        "http://rebind.evil.example",  # a rebinding page's own origin
        "https://localhost",  # another scheme: another origin
    ],
)
def test_an_action_from_another_origin_is_refused_with_a_valid_token_and_runs_nothing(
    cloud: InProcess, origin: str | None
) -> None:
    dead_letter(cloud, "app-foreign")
    client = create_app(cloud).test_client()
    token = token_of(client, "/console/redrive")
    headers = {} if origin is None else {"Origin": origin}
    refused = client.post("/console/redrive", data={"confirm": "yes", "token": token}, headers=headers)
    assert refused.status_code == 403
    assert "only from a confirmation page of this console" in refused.get_data(as_text=True)
    assert reads.dead_letter_depth(cloud) == 1, "nothing was moved"
    # The token was not spent by the refused request: the operator's own click still works
    assert confirm(client, "/console/redrive", token).status_code == 303
    assert reads.dead_letter_depth(cloud) == 0


def test_each_confirmation_page_issues_a_fresh_token_that_works_once(cloud: InProcess) -> None:
    dead_letter(cloud, "app-once")
    client = create_app(cloud).test_client()
    first, second = token_of(client, "/console/redrive"), token_of(client, "/console/redrive")
    assert first != second
    confirmed = {"confirm": "yes", "token": first}
    assert client.post("/console/redrive", data=confirmed, headers=OWN_ORIGIN).status_code == 303
    assert reads.dead_letter_depth(cloud) == 0
    dead_letter(cloud, "app-again")
    reused = client.post("/console/redrive", data=confirmed, headers=OWN_ORIGIN)
    assert reused.status_code == 403
    assert "confirm again" in reused.get_data(as_text=True)
    assert reads.dead_letter_depth(cloud) == 1, "a spent token moves nothing"
    assert confirm(client, "/console/redrive", second).status_code == 303


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_confirmation_opened_from_another_site_issues_no_token(cloud: InProcess, site: str) -> None:
    # Given the operator's own confirmation page, open in a tab
    app = create_app(cloud)
    client = app.test_client()
    theirs = token_of(client, "/console/redrive")
    # When pages of another site open the confirmation page again and again (links, frames the CSP hides)
    for _ in range(300):
        page = client.get("/console/redrive", headers={"Sec-Fetch-Site": site}).get_data(as_text=True)
        assert 'name="token"' not in page
    # Then they got no token, pushed none out, and were told to use the console itself
    assert "opened from another site" in page
    assert len(app.config["ACTION_TOKENS"]) == 1
    dead_letter(cloud, "app-kept")
    assert confirm(client, "/console/redrive", theirs).status_code == 303


def test_a_token_is_for_the_one_action_its_page_confirmed(cloud: InProcess) -> None:
    # Two parked sagas: a resume confirmation is offered for a parked saga only
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    undeliverable = {"line1": "x", "city": "y", "postal_code": "1", "country": "AQ"}
    cloud.put_order(order("app-token-a", "med-1", shipping_address=undeliverable))
    cloud.put_order(order("app-token-b", "med-1", shipping_address=undeliverable))
    assert set(cloud.wait_for_sagas(["app-token-a", "app-token-b"]).values()) == {"COMPENSATION_FAILED"}
    cloud.set_faults({})
    dead_letter(cloud, "app-token-dead")
    client = create_app(cloud).test_client()
    resume_a = token_of(client, "/console/sagas/app-token-a/resume")
    # A resume token on the redrive: refused, and spent
    on_redrive = client.post("/console/redrive", data={"confirm": "yes", "token": resume_a}, headers=OWN_ORIGIN)
    assert on_redrive.status_code == 403
    assert reads.dead_letter_depth(cloud) == 1
    # A token for resuming one saga, on another saga; a redrive token on a resume
    for token in (token_of(client, "/console/sagas/app-token-a/resume"), token_of(client, "/console/redrive")):
        answer = client.post(
            "/console/sagas/app-token-b/resume", data={"confirm": "yes", "token": token}, headers=OWN_ORIGIN
        )
        assert answer.status_code == 403
    assert not cloud.client("stepfunctions").list_executions(stateMachineArn=cloud.outputs["ResumeStateMachineArn"])[
        "executions"
    ], "no resume started"


def test_tokens_expire_are_spent_once_and_are_bounded_in_number() -> None:
    now = [1000.0]
    tokens = ActionTokens(seconds=300, capacity=3, clock=lambda: now[0])
    stale, live = tokens.issue("/console/redrive"), tokens.issue("/console/redrive")
    now[0] += 300
    assert not tokens.spend(stale, "/console/redrive"), "300 s later a token has expired"
    assert len(tokens) == 1
    live = tokens.issue("/console/redrive")
    assert tokens.spend(live, "/console/redrive")
    assert not tokens.spend(live, "/console/redrive")
    issued = [tokens.issue(f"/console/sagas/o-{i}/resume") for i in range(5)]
    assert len(tokens) == 3, "the oldest tokens are dropped past the bound"
    assert not tokens.spend(issued[0], "/console/sagas/o-0/resume")
    assert tokens.spend(issued[4], "/console/sagas/o-4/resume")


def test_an_error_is_the_consoles_own_page_and_keeps_what_the_status_requires(cloud: InProcess) -> None:
    client = create_app(cloud).test_client()
    wrong_method = client.put("/console/redrive")
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}, "RFC 9110: 405 has Allow"
    unknown = client.get("/console/sagas?state=<b>bogus</b>")
    assert unknown.status_code == 400
    page = unknown.get_data(as_text=True)
    assert '<p class="error" id="error">unknown state' in page
    assert "<b>bogus" not in page, "the client's value is text"


def csp(response: TestResponse) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = (d.strip().split(None, 1) for d in policy.split(";") if d.strip())
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


PAGES = {
    "list": ("/console/sagas", 200),
    "list fragment": ("/console/sagas/live", 200),
    "saga": ("/console/sagas/app-headers?patient_data=1", 200),
    "saga fragment": ("/console/sagas/app-headers?live=1", 200),
    "confirm": ("/console/redrive", 200),
    "operations": ("/console/operations", 200),
    "metrics": ("/console/metrics", 200),
    "error 404": ("/console/sagas/nobody", 404),
    "error 400": ("/console/sagas?state=bogus", 400),
    "no such page": ("/console/nowhere", 404),
    "static asset": ("/console/static/console.css", 200),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_response_forbids_framing_sniffing_referrers_and_foreign_assets(cloud: InProcess, name: str) -> None:
    cloud.put_order(order("app-headers", "med-1"))
    cloud.wait_for_sagas(["app-headers"])
    url, status = PAGES[name]
    response = create_app(cloud).test_client().get(url)
    assert response.status_code == status
    policy = csp(response)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "form-action"):
        assert policy[directive] == "'self'", directive
    assert policy["base-uri"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # A confirmation page's form needs its own origin in the POST's Origin: same-origin, never to another origin
    referrer = "same-origin" if name == "confirm" else "no-referrer"
    assert response.headers["Referrer-Policy"] == referrer
    if name != "static asset":
        assert response.headers["Cache-Control"] == "no-store", "pages may hold patient data or a token"


def test_patient_data_is_shown_only_when_asked_for(cloud: InProcess) -> None:
    cloud.put_order(order("app-private", "med-2"))
    cloud.wait_for_sagas(["app-private"])
    client = create_app(cloud).test_client()
    plain = client.get("/console/sagas/app-private").get_data(as_text=True)
    assert "patient-of-app-private" not in plain
    assert "med-2" not in plain
    asked = client.get("/console/sagas/app-private?patient_data=1").get_data(as_text=True)
    assert "patient-of-app-private" in asked


def test_an_unknown_saga_is_a_404_in_one_line(cloud: InProcess) -> None:
    found = create_app(cloud).test_client().get("/console/sagas/nobody")
    assert found.status_code == 404
    assert "no saga for order nobody" in found.get_data(as_text=True)


def test_the_list_pages_newest_first_without_losing_or_repeating_a_saga(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_app, "PAGE_SIZE", 2)
    ids = [f"app-page-{i}" for i in range(5)]
    for order_id in ids:
        cloud.put_order(order(order_id, "med-1"))
        cloud.wait_for_sagas([order_id])
    client = create_app(cloud).test_client()
    seen: list[str] = []
    url: str | None = "/console/sagas?state=completed"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r'<tr data-order="([^"]+)"', page)
        older = re.search(r'rel="next" href="([^"]+)"', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == list(reversed(ids))


def test_operations_show_counts_durations_stock_and_the_dead_letter_depth(cloud: InProcess) -> None:
    cloud.put_order(order("app-ops", "med-1"))
    cloud.wait_for_sagas(["app-ops"])
    page = create_app(cloud).test_client().get("/console/operations").get_data(as_text=True)
    assert re.search(r"COMPLETED</span></td><td class=\"num\">1<", page)
    assert "duration of 1 finished sagas: p50" in page
    assert re.search(r"<td>med-1</td><td class=\"num\">\d+</td>", page)
    assert '<span id="dlq-depth">0</span>' in page


def test_the_metrics_page_draws_the_dashboards_widgets_from_the_functions_metrics(cloud: InProcess) -> None:
    cloud.put_order(order("app-metrics", "med-1"))
    cloud.wait_for_sagas(["app-metrics"])
    cloud.local.wait_until_idle()
    page = create_app(cloud).test_client().get("/console/metrics").get_data(as_text=True)
    outcomes = page[page.index('data-title="Sagas by outcome"') :]
    outcomes = outcomes[: outcomes.index("</section>")]
    assert re.search(r'<polyline class="series" data-label="completed" data-points="1"', outcomes)
    assert 'data-title="Lambda errors"' in page, "every metric widget is listed, with or without data"
