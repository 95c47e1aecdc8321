"""A function's settings: its environment parsed once into a model, each variable by its contract name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambdas import config, contract


@pytest.fixture(autouse=True)
def new_execution_environment() -> Iterator[None]:
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def test_a_variable_is_read_by_its_contract_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_STORE_TABLE", "events")
    assert config.setting(contract.EVENT_STORE_TABLE) == "events"


def test_a_missing_or_empty_variable_is_named_in_the_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGA_TABLE", raising=False)
    monkeypatch.setenv("EVENT_BUS_NAME", "")
    with pytest.raises(config.MissingSetting, match="SAGA_TABLE"):
        config.setting(contract.SAGA_TABLE)
    with pytest.raises(config.MissingSetting, match="EVENT_BUS_NAME"):
        config.setting(contract.EVENT_BUS_NAME)
    assert config.optional_setting(contract.EVENT_BUS_NAME) is None


def test_a_name_that_is_no_setting_is_a_programming_error() -> None:
    with pytest.raises(LookupError):
        config.setting("NOT_A_SETTING")


def test_the_environment_is_read_once_per_execution_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda fixes a function's variables for the life of its execution environment.
    monkeypatch.setenv("SAGA_TABLE", "first")
    assert config.setting(contract.SAGA_TABLE) == "first"
    monkeypatch.setenv("SAGA_TABLE", "changed")
    assert config.setting(contract.SAGA_TABLE) == "first"
