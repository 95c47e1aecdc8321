"""Every port the logic declares (a Protocol class in lambdas/logic) has its contract module:
a port cannot be added without a specification both its fake and its adapter pass."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import lambdas.logic

CONTRACTS = Path(__file__).parent

NOT_A_PORT_OR_NOT_YET = {
    "SagaServices": "not a port: the bundle of ports a step uses, each with its own contract",
    "CompensationStarter": "no contract yet: its adapter lives in lambdas/handlers/record_execution_outcome.py",
}
"""Protocols without a contract module, each with why; the list can only shrink."""


def _protocols() -> dict[str, type]:
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(lambdas.logic.__path__, prefix="lambdas.logic."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and getattr(value, "_is_protocol", False) and value.__module__ == info.name:
                found[name] = value
    return found


def contract_module(port: str) -> str:
    """`EventStore` -> `test_event_store`."""
    return "test_" + re.sub(r"(?<!^)(?=[A-Z])", "_", port).lower()


def test_the_ports_are_found_where_the_logic_declares_them() -> None:
    expected = {"EventStore", "Catalogue", "Prescriptions", "Inventory", "Shipments", "ProjectionStore"}
    assert expected <= set(_protocols())


def test_every_port_has_a_contract_module_written_against_the_port() -> None:
    missing, untyped = [], []
    for name, port in sorted(_protocols().items()):
        if name in NOT_A_PORT_OR_NOT_YET:
            continue
        module = contract_module(name)
        if not (CONTRACTS / f"{module}.py").exists():
            missing.append(f"{name}: tests/contract/{module}.py")
            continue
        # The module's implementations are typed as the port: mypy then checks each one is one.
        if getattr(importlib.import_module(f"tests.contract.{module}"), name, None) is not port:
            untyped.append(f"tests/contract/{module}.py does not use {port.__module__}.{name}")
    assert not missing, f"ports without a contract (write one, as tests/contract/test_event_store.py): {missing}"
    assert not untyped, untyped


def test_the_ports_excused_from_a_contract_still_exist_and_still_have_none() -> None:
    protocols = _protocols()
    for name in NOT_A_PORT_OR_NOT_YET:
        assert name in protocols, f"{name} is gone: strike it from the list"
        assert not (CONTRACTS / f"{contract_module(name)}.py").exists(), f"{name} has a contract: strike it"
