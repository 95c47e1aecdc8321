"""`saga local up --retain-sagas/--retain-minutes`: the options reach the endpoint's retention."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from localcloud.retention import DEFAULT_MINUTES, DEFAULT_SAGAS, Retention
from saga_cli import local
from saga_cli.main import app

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Retention | None]:
    """What `serve` was asked to retain (it serves nothing here)."""
    asked: list[Retention | None] = []

    def serve(host: str, port: int, **options: Any) -> None:
        asked.append(options.get("retention"))

    monkeypatch.setattr(local, "serve", serve)
    return asked


def test_local_up_retains_the_default_sagas_and_minutes_unless_told(served: list[Retention | None]) -> None:
    assert runner.invoke(app, ["local", "up"]).exit_code == 0
    assert runner.invoke(app, ["local", "up", "--retain-sagas", "5", "--retain-minutes", "0.5"]).exit_code == 0
    assert served == [Retention(DEFAULT_SAGAS, DEFAULT_MINUTES), Retention(sagas=5, minutes=0.5)]


def test_a_negative_retention_is_a_usage_error(served: list[Retention | None]) -> None:
    refused = runner.invoke(app, ["local", "up", "--retain-sagas", "-1"])
    assert refused.exit_code == 2
    assert served == []


def test_the_help_gives_the_defaults_the_retention_has() -> None:
    shown = " ".join(runner.invoke(app, ["local", "up", "--help"]).stdout.split())
    assert f"finished sagas ({DEFAULT_SAGAS})" in shown
    assert f"last M minutes ({DEFAULT_MINUTES:g})" in shown
