"""`saga list` says what its limit leaves out and lists every state by default; the CLI's times say their zone."""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any

from typer.testing import CliRunner

from harness.inprocess import InProcess
from harness.orders import order
from lambdas.logic.repository import stream_id_for
from saga_cli.main import app

runner = CliRunner()


def saga(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _ended(cloud: InProcess, *orders: tuple[str, str]) -> None:
    for order_id, medication in orders:
        cloud.put_order(order(order_id, medication))
    cloud.wait_for_sagas([order_id for order_id, _ in orders])


def test_list_says_how_many_exist_when_its_limit_shows_fewer(cloud: InProcess) -> None:
    _ended(cloud, ("l-f1", "med-scarce"), ("l-f2", "med-scarce"), ("l-f3", "med-scarce"), ("l-ok", "med-1"))
    cut = " ".join(saga("list", "--state", "failed", "--limit", "2").output.split())
    assert "failed sagas: 2 of 3 shown (--limit 2)" in cut
    as_json = runner.invoke(app, ["list", "--state", "failed", "--limit", "2", "--json"])
    assert len(json.loads(as_json.stdout)) == 2, "stdout stays a JSON list"
    assert "failed sagas: 2 of 3 shown (--limit 2)" in " ".join(as_json.stderr.split())
    whole = " ".join(saga("list", "--state", "failed").output.split())
    assert "failed sagas (3)" in whole
    assert "shown" not in whole


def test_list_without_a_state_lists_every_state_newest_first_within_the_limit(cloud: InProcess) -> None:
    _ended(cloud, ("l-first", "med-1"))
    _ended(cloud, ("l-second", "med-scarce"))
    cloud.put_order({"order_id": "l-third"})  # no medications: REJECTED
    cloud.wait_for_sagas(["l-third"])
    output = saga("list").output
    assert re.findall(r"l-(?:first|second|third)", output) == ["l-third", "l-second", "l-first"]
    for state in ("REJECTED", "FAILED", "COMPLETED"):
        assert state in output
    assert "sagas: 2 of 3 shown (--limit 2)" in " ".join(saga("list", "--limit", "2").output.split())


def test_every_time_the_cli_prints_is_in_utc_and_says_so(cloud: InProcess) -> None:
    _ended(cloud, ("l-time", "med-1"))
    view = cloud.projection().get("l-time")
    assert view is not None
    updated = f"{view.updated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    assert updated in saga("list", "--state", "completed").output
    first = cloud.event_store().read(stream_id_for("l-time"))[0]
    shown = saga("history", "l-time").output
    stamps = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC", shown)
    assert len(stamps) == 9, shown  # one per event of a completed saga
    assert stamps[0] == f"{first.occurred_at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC"
    assert len(re.findall(r"\d{2}:\d{2}:\d{2}", shown)) == 9, "no time is shown without its zone"
    status = saga("status", "l-time").output
    zoned = re.findall(r"\d{2}:\d{2}:\d{2}(?:\.\d{3})? UTC", status)
    assert len(zoned) == len(re.findall(r"\d{2}:\d{2}:\d{2}", status)) >= 9
