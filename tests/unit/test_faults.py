"""Fault injection's plans (lambdas/logic/faults.py) by what they do: where they fail, how often, and
what they refuse. The targets are the saga's steps and compensations by their business names (README)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lambdas.domain.errors import InjectedPermanentFault, InjectedTransientFault
from lambdas.logic.faults import FaultInjector, draws_permanent, draws_transient, parse_plan

EVERY_TARGET = (
    *("create_prescription", "reserve_inventory", "initiate_shipment"),
    *("cancel_shipment", "release_inventory", "cancel_prescription", "cancel_order"),
)
"""The three steps and four compensations of README's picture, as the handlers are named."""


def _injector(plan: dict[str, Any]) -> tuple[FaultInjector, list[float]]:
    slept: list[float] = []
    return FaultInjector(load_plan=lambda: plan, sleep=slept.append), slept


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_plan_may_fail_each_step_and_compensation_and_that_one_only(target: str) -> None:
    injector, _ = _injector({target: {"transient_attempts": 1}})
    with pytest.raises(InjectedTransientFault):
        injector.before(target, "o-1", attempt=0)
    injector.before(target, "o-1", attempt=1)  # the retry passes
    for other in set(EVERY_TARGET) - {target}:
        injector.before(other, "o-1", attempt=0)


def test_a_misspelt_target_is_refused_naming_it_rather_than_injecting_nothing() -> None:
    with pytest.raises(ValueError, match="reserve_inventry") as refused:
        parse_plan({"reserve_inventry": {"transient": 1.0}})
    # and it says which names a plan may use
    assert all(target in str(refused.value) for target in EVERY_TARGET)
    injector, _ = _injector({"reserve_inventry": {"transient": 1.0}})
    with pytest.raises(ValueError, match="reserve_inventry"):
        injector.before("reserve_inventory", "o-1", attempt=0)


@pytest.mark.parametrize("spec", [{"permanent": 5}, {"transient": -0.1}, {"latency_ms": -1}, {"sometimes": 1}])
def test_a_probability_outside_0_to_1_or_an_unknown_knob_is_refused_naming_where(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"cancel_order\."):
        parse_plan({"cancel_order": spec})


def test_without_a_plan_nothing_is_injected() -> None:
    plans: tuple[dict[str, Any] | None, ...] = (None, {})
    for plan in plans:
        injector = FaultInjector(load_plan=functools.partial(lambda given: given, plan))
        for target in EVERY_TARGET:
            injector.before(target, "o-1", attempt=0)


def test_the_first_n_attempts_fail_for_certain_then_the_step_passes() -> None:
    injector, _ = _injector({"reserve_inventory": {"transient_attempts": 2}})
    for attempt in (0, 1):
        with pytest.raises(InjectedTransientFault):
            injector.before("reserve_inventory", "o-1", attempt)
    injector.before("reserve_inventory", "o-1", attempt=2)


def test_a_permanent_fault_fails_every_attempt_of_that_saga() -> None:
    injector, _ = _injector({"cancel_order": {"permanent": 1.0}})
    for attempt in range(7):  # a compensation's first try and its 6 retries (README)
        with pytest.raises(InjectedPermanentFault):
            injector.before("cancel_order", "o-1", attempt)


def test_draws_are_a_function_of_seed_order_target_and_attempt_so_a_run_replays_exactly() -> None:
    plan = parse_plan({"seed": 7, "reserve_inventory": {"transient": 0.5, "permanent": 0.5}})
    orders = [f"o-{n}" for n in range(200)]
    first = [
        (draws_transient(plan, o, "reserve_inventory", 1), draws_permanent(plan, o, "reserve_inventory"))
        for o in orders
    ]
    again = [
        (draws_transient(plan, o, "reserve_inventory", 1), draws_permanent(plan, o, "reserve_inventory"))
        for o in orders
    ]
    assert first == again
    # half the sagas, give or take: a probability, not all or none
    assert 60 < sum(t for t, _ in first) < 140
    assert 60 < sum(p for _, p in first) < 140
    reseeded = parse_plan({"seed": 8, "reserve_inventory": {"transient": 0.5, "permanent": 0.5}})
    assert [draws_transient(reseeded, o, "reserve_inventory", 1) for o in orders] != [t for t, _ in first]


def test_latency_is_added_with_its_probability_for_its_length() -> None:
    injector, slept = _injector({"initiate_shipment": {"latency": 1.0, "latency_ms": 200}})
    injector.before("initiate_shipment", "o-1", attempt=0)
    assert slept == [0.2]
    never, none_slept = _injector({"initiate_shipment": {"latency": 0.0, "latency_ms": 200}})
    never.before("initiate_shipment", "o-1", attempt=0)
    assert none_slept == []
