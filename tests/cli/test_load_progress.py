"""`saga load` shows orders going out and sagas ending, and an interrupted load says what it sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

import harness.sending as sending
from harness import load
from harness.inprocess import InProcess
from harness.target import Target
from saga_cli.main import app

runner = CliRunner()


def _interrupting_at(monkeypatch: pytest.MonkeyPatch, call: int) -> list[str]:
    """put_order as it is, except its `call`-th call, which is a Ctrl-C: the order ids it was called with."""
    put_order, called = sending.put_order, []

    def put(target: Target, detail: Any) -> str:
        called.append(detail["order_id"])
        if len(called) == call:
            raise KeyboardInterrupt
        return put_order(target, detail)

    monkeypatch.setattr(sending, "put_order", put)
    return called


def test_the_sent_bar_moves_with_each_order_before_the_next_goes_out(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_before: list[int] = []
    put_order, reported = sending.put_order, list[int]()

    def put(target: Target, detail: Any) -> str:
        sent_before.append(len(reported))
        return put_order(target, detail)

    monkeypatch.setattr(sending, "put_order", put)
    planned = load.plan(5, {"valid": 1}, run_id="bar")
    load.run_load(cloud, planned, concurrency=1, timeout=60, on_sent=reported.append)
    assert sent_before == [0, 1, 2, 3, 4], "each order's send was shown before the next one left"
    assert reported == [1] * 5


def test_the_terminal_shows_both_bars_at_their_totals(cloud: InProcess) -> None:
    result = runner.invoke(app, ["load", "--orders", "4", "--mix", "valid=1"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "orders sent" in said
    assert "sagas finished" in said
    assert said.count("4/4") == 2, said


def test_an_interrupted_load_sends_no_more_and_names_the_orders_it_sent(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    called = _interrupting_at(monkeypatch, 5)
    result = runner.invoke(app, ["load", "--orders", "12", "--concurrency", "1", "--mix", "valid=1", "--json"])
    assert result.exit_code == 130, result.output  # as a shell reports SIGINT: 128 + 2
    # The one sender may already have taken the next order when the interrupt reaches the load: that
    # order goes out and is counted; none after it.
    assert len(called) <= 5 + 1, "no order went out after the interrupt but one already on its way"
    went_out = sorted(c for c in called if c != called[4])
    said = json.loads(result.stdout)
    assert said == {"interrupted": True, "orders": 12, "sent": went_out}
    # exactly the orders it named became sagas
    assert set(cloud.wait_for_sagas(went_out)) == set(went_out)
    assert len(list(cloud.projection().all())) == len(went_out)


def test_an_interrupted_load_says_so_in_the_terminal(cloud: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    called = _interrupting_at(monkeypatch, 3)
    result = runner.invoke(app, ["load", "--orders", "6", "--concurrency", "1", "--mix", "valid=1"])
    assert result.exit_code == 130, result.output
    said = " ".join(result.output.split())
    went_out = sorted(c for c in called if c != called[2])
    assert f"interrupted: {len(went_out)} of 6 orders sent" in said
    assert f"sent: {' '.join(went_out)}" in said
    cloud.wait_for_sagas(went_out)
