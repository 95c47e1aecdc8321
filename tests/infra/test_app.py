"""The CDK app's switches: stack name by context; fault injection off by default, never in production."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from app import build_app
from infra.stack import FaultInjectionNotAllowed, OrderFulfillmentStack


def _stack(app: cdk.App) -> OrderFulfillmentStack:
    [stack] = [c for c in app.node.children if isinstance(c, OrderFulfillmentStack)]
    return stack


def test_the_stack_name_is_overridable_and_fault_injection_is_off_by_default() -> None:
    stack = _stack(build_app(cdk.App(context={"stack_name": "PharmacyStaging"})))
    assert stack.stack_name == "PharmacyStaging"
    assert stack.node.try_find_child("FaultInjectionPlan") is None


def test_fault_injection_is_an_explicit_switch() -> None:
    stack = _stack(build_app(cdk.App(context={"fault_injection": "true"})))
    assert stack.node.try_find_child("FaultInjectionPlan") is not None


def test_a_production_stack_cannot_turn_fault_injection_on() -> None:
    with pytest.raises(FaultInjectionNotAllowed):
        build_app(cdk.App(context={"fault_injection": "true", "environment": "production"}))
