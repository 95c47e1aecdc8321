"""The fault plan counts the faults requests actually meet: what a chaos run reports as injected.

The order comes from the app (pharmacy_reference/app.py): a 503 or a 500 is answered before any
work, so such a request is neither held nor dropped; a held request is done, and may then be dropped.
"""

from __future__ import annotations

from pharmacy_reference.faults import Draw, FaultPlan, Faults


def _draws(plan: FaultPlan, count: int) -> list[Draw]:
    return [plan.draw(f"key-{n}")[1] for n in range(count)]


def test_a_500_is_the_only_fault_its_request_meets() -> None:
    plan = FaultPlan(Faults(error_rate=1.0, timeout_rate=1.0, drop_rate=1.0))

    assert _draws(plan, 3) == [Draw(error=True)] * 3
    assert plan.drawn() == {"error": 3}


def test_a_held_request_may_also_be_dropped_and_both_are_counted() -> None:
    plan = FaultPlan(Faults(timeout_rate=1.0, drop_rate=1.0))

    assert _draws(plan, 2) == [Draw(hold=True, drop=True)] * 2
    assert plan.drawn() == {"hold": 2, "drop": 2}


def test_the_503s_before_a_key_is_served_are_counted_and_nothing_else() -> None:
    plan = FaultPlan(Faults(unavailable_first=2, error_rate=0.0))

    assert [plan.draw("same-key")[1] for _ in range(3)] == [Draw(unavailable=True)] * 2 + [Draw()]
    assert plan.drawn() == {"unavailable": 2}


def test_no_knob_no_fault_counted() -> None:
    plan = FaultPlan(Faults())

    _draws(plan, 50)

    assert plan.drawn() == {}
