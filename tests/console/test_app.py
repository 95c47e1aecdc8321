"""The console's routes through Flask's test client: refusals, patient data on request, paging, errors."""

from __future__ import annotations

import re

import pytest

from harness.inprocess import InProcess
from saga_console import app as console_app
from saga_console.app import create_app
from tests.e2e.helpers import order


def test_actions_are_refused_off_loopback_unless_allowed(cloud: InProcess) -> None:
    exposed = create_app(cloud, host="0.0.0.0").test_client()
    page = exposed.get("/console/redrive").get_data(as_text=True)
    assert "Actions are refused" in page
    assert exposed.post("/console/redrive", data={"confirm": "yes"}).status_code == 403
    allowed = create_app(cloud, host="0.0.0.0", allow_actions=True)
    token = allowed.config["ACTION_TOKEN"]
    assert allowed.test_client().post("/console/redrive", data={"confirm": "yes", "token": token}).status_code == 303


def test_an_action_needs_the_confirmation_pages_token(cloud: InProcess) -> None:
    client = create_app(cloud).test_client()
    assert client.post("/console/redrive", data={"confirm": "yes"}).status_code == 400
    form = client.get("/console/redrive").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', form)
    assert token
    moved = client.post("/console/redrive", data={"confirm": "yes", "token": token.group(1)}, follow_redirects=True)
    assert "moved 0 message(s)" in moved.get_data(as_text=True)


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
    assert re.search(r'<polyline class="series" data-label="SagasCompleted" data-points="1"', outcomes)
    assert 'data-title="Lambda errors"' in page, "every metric widget is listed, with or without data"
