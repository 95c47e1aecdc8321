"""`saga demo` (what `make demo` runs) shows every path ending as it should."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from saga_cli.main import app


def test_the_demo_runs_every_path_to_its_expected_outcome() -> None:
    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    outcomes = {o["order_id"]: o for o in report["outcomes"]}
    assert {k: o["state"] for k, o in outcomes.items()} == {
        "order-123": "COMPLETED",
        "order-unknown-med": "FAILED",
        "order-no-stock": "FAILED",
        "order-undeliverable": "FAILED",
        "order-duplicated": "COMPLETED",
        "order-invalid": "REJECTED",
    }
    assert outcomes["order-undeliverable"]["compensations_run"] == [
        "release_inventory",
        "cancel_prescription",
        "cancel_order",
    ]
    assert outcomes["order-no-stock"]["compensations_run"] == ["cancel_prescription", "cancel_order"]
    assert outcomes["order-unknown-med"]["compensations_run"] == ["cancel_order"]
    assert outcomes["order-duplicated"]["executions"] == 1
