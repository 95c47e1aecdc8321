"""`saga demo` (what `make demo` runs): every path ends as it should on the built-in tables and over HTTP."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console

from harness.demo import SCENARIOS, Demo, Outcome, PharmacyCall, Run, run_demo
from harness.orders import Kind
from saga_cli import render

# The domain's rules (harness/orders.py): what each of the demo's orders ends in.
ENDS_IN = {
    "order-123": Kind.VALID.ends_in.value,
    "order-unknown-med": Kind.UNKNOWN_MED.ends_in.value,
    "order-no-stock": Kind.NO_STOCK.ends_in.value,
    "order-undeliverable": Kind.UNDELIVERABLE.ends_in.value,
    "order-duplicated": Kind.VALID.ends_in.value,
    "order-invalid": Kind.INVALID.ends_in.value,
}
# Compensations undo the steps done, in reverse order (README, docs/architecture.md).
COMPENSATED = {
    "order-unknown-med": ["cancel_order"],
    "order-no-stock": ["cancel_prescription", "cancel_order"],
    "order-undeliverable": ["release_inventory", "cancel_prescription", "cancel_order"],
}
CREATED = {200, 201}
"""docs/pharmacy-api.yaml: what a create is answered when it is done."""


@pytest.fixture(scope="module")
def demo() -> Demo:
    return run_demo()


@pytest.fixture(scope="module")
def report(demo: Demo) -> dict[str, Any]:
    return render.demo_json(demo)


def _outcomes(report: dict[str, Any], over_http: bool) -> dict[str, dict[str, Any]]:
    (run,) = [r for r in report["runs"] if (r["pharmacy_url"] is not None) is over_http]
    return {o["order_id"]: o for o in report["outcomes"] if o["runs_against"] == run["runs_against"]}


@pytest.mark.parametrize("over_http", [False, True], ids=["built-in tables", "over HTTP"])
def test_every_scenario_ends_as_the_domain_rules_say(report: dict[str, Any], over_http: bool) -> None:
    outcomes = _outcomes(report, over_http)
    assert {k: o["state"] for k, o in outcomes.items()} == ENDS_IN
    assert {k: o["compensations_run"] for k, o in outcomes.items() if o["compensations_run"]} == COMPENSATED
    assert outcomes["order-duplicated"]["executions"] == 1, "three deliveries, one saga"
    assert all(o["as_expected"] for o in outcomes.values())


def test_the_two_runs_are_one_on_the_tables_and_one_at_the_pharmacy(report: dict[str, Any]) -> None:
    assert [(r["runs_against"], r["pharmacy_url"] is not None) for r in report["runs"]] == [
        ("built-in tables", False),
        (_outcomes(report, over_http=True)["order-123"]["runs_against"], True),
    ]
    assert all(o["pharmacy_calls"] is None for o in _outcomes(report, over_http=False).values())
    for run in report["runs"]:
        assert set(run["timings_seconds"]) == {"synthesize_and_deploy", "sagas"}
    assert set(report["timings_seconds"]) == {"total"}


def test_over_http_every_step_of_a_completed_saga_is_created_at_the_pharmacy(report: dict[str, Any]) -> None:
    for order_id in ("order-123", "order-duplicated"):
        calls = _outcomes(report, over_http=True)[order_id]["pharmacy_calls"]
        assert [c["operation"] for c in calls] == ["createPrescription", "reserveInventory", "createShipment"]
        assert all(c["status"] in CREATED for c in calls), calls


def test_over_http_no_stock_is_refused_by_the_pharmacy_and_the_reason_is_its_own(report: dict[str, Any]) -> None:
    # The pharmacy's warehouse holds the stock (pharmacy_reference/catalogue.py: med-scarce has 0);
    # docs/pharmacy-api.yaml: reserveInventory refuses with 409 and "line 2: not enough stock".
    no_stock = _outcomes(report, over_http=True)["order-no-stock"]
    assert no_stock["pharmacy_calls"][:2] == [
        {"operation": "createPrescription", "status": no_stock["pharmacy_calls"][0]["status"]},
        {"operation": "reserveInventory", "status": 409},
    ]
    assert no_stock["pharmacy_calls"][0]["status"] in CREATED
    assert [c["operation"] for c in no_stock["pharmacy_calls"][2:]] == ["cancelPrescription"]
    assert (no_stock["refused_by"], no_stock["reason"]) == ("pharmacy, HTTP 409", "line 2: not enough stock")
    # On the built-in tables, the saga's own inventory table refuses it
    assert _outcomes(report, over_http=False)["order-no-stock"]["refused_by"] == "saga"


def test_over_http_the_pharmacys_own_rules_refuse_an_unknown_medication_and_an_undeliverable_address(
    report: dict[str, Any],
) -> None:
    # docs/pharmacy-api.yaml: createPrescription refuses a medication outside the pharmacy's catalogue with
    # 422, createShipment an address its carrier does not serve with 422; the saga's built-in rules are the
    # built-in tables' (lambdas/logic/saga_steps.py), so it asks the pharmacy rather than pre-empting it.
    outcomes = _outcomes(report, over_http=True)
    unknown = outcomes["order-unknown-med"]
    assert unknown["pharmacy_calls"] == [{"operation": "createPrescription", "status": 422}]
    assert unknown["refused_by"] == "pharmacy, HTTP 422"
    undeliverable = outcomes["order-undeliverable"]["pharmacy_calls"]
    assert [c["operation"] for c in undeliverable[:3]] == ["createPrescription", "reserveInventory", "createShipment"]
    assert undeliverable[2]["status"] == 422
    assert [c["operation"] for c in undeliverable[3:]] == ["releaseInventory", "cancelPrescription"]
    assert outcomes["order-undeliverable"]["refused_by"] == "pharmacy, HTTP 422"
    assert outcomes["order-invalid"]["pharmacy_calls"] == []
    # On the built-in tables the saga's own rules refuse them
    for order_id in ("order-unknown-med", "order-undeliverable"):
        assert _outcomes(report, over_http=False)[order_id]["refused_by"] == "saga"


def _shown(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> str:
    """What the demo prints, as a terminal wide enough that no cell wraps shows it, without colours."""
    screen = io.StringIO()
    monkeypatch.setattr(render, "console", Console(file=screen, width=400, color_system=None))
    render.demo_table(demo)
    return screen.getvalue()


def _table(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The demo table's header and rows as a person reads them, cell by cell."""
    lines = _shown(demo, monkeypatch).splitlines()
    return [[cell.strip() for cell in re.split("[│┃]", line)[1:-1]] for line in lines if re.search("[│┃]", line)]


def test_the_table_says_on_every_row_which_system_the_steps_ran_against(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, *rows = _table(demo, monkeypatch)
    assert header[:4] == ["order", "scenario", "runs against", "final state"]
    port = str(demo.runs[1].pharmacy_url).rsplit(":", 1)[1]
    seen = {(row[0], row[2]) for row in rows}
    orders = [s.detail["order_id"] for s in SCENARIOS]
    assert seen == {(o, where) for o in orders for where in ("built-in tables", f"HTTP 127.0.0.1:{port}")}
    assert len(rows) == 2 * len(orders)
    no_stock_over_http = next(r for r in rows if r[0] == "order-no-stock" and r[2].startswith("HTTP"))
    assert no_stock_over_http[3] == "FAILED"
    assert no_stock_over_http[6] == "pharmacy, HTTP 409: line 2: not enough stock"


def test_a_pharmacys_reason_is_shown_as_text_never_as_markup_nor_as_an_escape_sequence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a pharmacy whose refusal carries Rich markup and a terminal escape sequence
    hostile = "[blink]line 1[/blink]\x1b[2J\u202e"
    refused = Outcome(
        scenario=SCENARIOS[2],
        runs_against="HTTP 127.0.0.1:1",
        state="FAILED",
        steps=("create_prescription",),
        compensations=("cancel_prescription", "cancel_order"),
        duration_seconds=0.1,
        executions=1,
        reason=hostile,
        pharmacy_calls=(PharmacyCall("createPrescription", 201), PharmacyCall("reserveInventory", 409)),
    )
    run = Run(refused.runs_against, "http://127.0.0.1:1", [refused], {"synthesize_and_deploy": 0.0, "sagas": 0.0})
    # When the table shows it, then a person reads the characters it sent, escaped
    shown = _shown(Demo([run], 0.0), monkeypatch)
    assert "pharmacy, HTTP 409: [blink]line 1[/blink]\\x1b[2J\\u202e" in shown
    assert "\x1b" not in shown
    assert "\u202e" not in shown


def test_over_http_a_step_done_without_the_pharmacy_is_not_what_the_demo_promises() -> None:
    # Given a run over HTTP where the reservation was made, but never at the pharmacy (a step left on
    # the built-in tables, as a mixed pharmacy_api_steps configuration would)
    completed = Outcome(
        scenario=SCENARIOS[0],
        runs_against="HTTP 127.0.0.1:1",
        state="COMPLETED",
        steps=("create_prescription", "reserve_inventory", "initiate_shipment"),
        compensations=(),
        duration_seconds=0.1,
        executions=1,
        reason=None,
        pharmacy_calls=(PharmacyCall("createPrescription", 201), PharmacyCall("createShipment", 201)),
    )
    # Then the demo does not count it as expected, and says why
    assert completed.state == completed.scenario.expected
    assert not completed.as_expected
    assert completed.unexpected == "not created at the pharmacy: reserve_inventory"
