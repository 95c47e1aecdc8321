"""The CDK app's switches: stack name by context; fault injection off by default, never in production."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from app import build_app
from infra.stack import FaultInjectionNotAllowed, OrderFulfillmentStack
from localcloud.deploy import PROJECT_ROOT, synthesis_context, synthesize


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


CLI_TEMPLATE = PROJECT_ROOT / "cdk.out" / "OrderFulfillment.template.json"


@pytest.mark.skipif(not CLI_TEMPLATE.exists(), reason="no `make synth` output (make test runs it first)")
def test_the_local_cloud_deploys_the_template_the_cdk_cli_synthesizes() -> None:
    # make synth runs the pinned CDK CLI (cdk.json's context and feature flags); the local cloud
    # synthesizes with the same context, so it deploys what `cdk deploy` would.
    cli = json.loads(CLI_TEMPLATE.read_text())["Resources"]
    cli.pop("CDKMetadata", None)  # the CLI's version reporting, not part of the product
    local = synthesize().template["Resources"]  # as cdk.json has it: fault injection off
    assert set(local) == set(cli)
    assert [k for k in local if local[k] != cli[k]] == []


def test_the_local_synthesis_uses_every_setting_of_cdk_json() -> None:
    project = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    context = synthesis_context("OrderFulfillment", fault_injection=False)
    settings = {key: value for key, value in project.items() if key != "fault_injection"}
    assert {key: context.get(key) for key in settings} == settings
