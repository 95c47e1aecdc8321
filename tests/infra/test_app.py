"""The CDK app's switches: stack name by context; fault injection off by default, never in production.

Each check reads a synthesis made once per session (tests/conftest.py, tests/infra/conftest.py); only a
refusal, raised before anything is built, builds the app here.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from app import build_app
from harness.assembly import PROJECT_ROOT, synthesis_context
from infra.stack import FaultInjectionNotAllowed, OrderFulfillmentStack
from localcloud.deploy import CloudAssembly
from tests.infra.stacks import CONFIGURED_STACK, ORDER_PRODUCER
from tests.infra.template import resources


def _fault_injection_plans(assembly: CloudAssembly) -> list[str]:
    return [logical_id for logical_id in assembly.template["Resources"] if logical_id.startswith("FaultInjectionPlan")]


def test_the_stack_name_is_overridable(configured_assembly: CloudAssembly) -> None:
    # The cloud assembly's manifest names each stack artifact by its stack name (what `cdk deploy` deploys).
    manifest = json.loads((configured_assembly.directory / "manifest.json").read_text())
    stacks = [name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"]
    assert stacks == [CONFIGURED_STACK]


def test_fault_injection_is_off_as_cdk_deploy_ships_the_stack_and_on_when_switched_on(
    deployable_assembly: CloudAssembly, assembly: CloudAssembly
) -> None:
    assert _fault_injection_plans(deployable_assembly) == []
    assert len(_fault_injection_plans(assembly)) == 1


def test_a_production_stack_cannot_turn_fault_injection_on() -> None:
    with pytest.raises(FaultInjectionNotAllowed):
        build_app(cdk.App(context={"fault_injection": "true", "environment": "production"}))


CLI_TEMPLATE = PROJECT_ROOT / "cdk.out" / "OrderFulfillment.template.json"


@pytest.mark.skipif(not CLI_TEMPLATE.exists(), reason="no `make synth` output (make test runs it first)")
def test_the_local_cloud_deploys_the_template_the_cdk_cli_synthesizes(deployable_assembly: CloudAssembly) -> None:
    # make synth runs the pinned CDK CLI (cdk.json's context and feature flags); the local cloud
    # synthesizes with the same context, so it deploys what `cdk deploy` would.
    cli = json.loads(CLI_TEMPLATE.read_text())["Resources"]
    cli.pop("CDKMetadata", None)  # the CLI's version reporting, not part of the product
    local = deployable_assembly.template["Resources"]  # as cdk.json has it: fault injection off
    assert set(local) == set(cli)
    assert [k for k in local if local[k] != cli[k]] == []


def test_the_local_synthesis_uses_every_setting_of_cdk_json() -> None:
    project = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    context = synthesis_context("OrderFulfillment", fault_injection=False)
    settings = {key: value for key, value in project.items() if key != "fault_injection"}
    assert {key: context.get(key) for key in settings} == settings


def test_order_producers_come_from_context_as_a_list_or_comma_separated() -> None:
    from app import order_producers

    assert order_producers(None) == []
    assert order_producers("111122223333, arn:aws:iam::444455556666:role/api") == [
        "111122223333",
        "arn:aws:iam::444455556666:role/api",
    ]
    assert order_producers(["111122223333"]) == ["111122223333"]


def test_named_order_producers_may_put_and_cancel_orders_on_the_order_bus_and_nothing_else(
    configured_assembly: CloudAssembly,
) -> None:
    policies: list[dict[str, Any]] = [
        p["Properties"]["Statement"]
        for p in resources(configured_assembly.template, "AWS::Events::EventBusPolicy").values()
        if p["Properties"]["Statement"]["Effect"] == "Allow" and "OrderProducers" in p["Properties"]["StatementId"]
    ]
    [statement] = policies
    assert statement["Action"] == "events:PutEvents"
    # Issue 25: whoever may send an order may cancel it (detail-type OrderCancellationRequested).
    assert statement["Condition"] == {
        "StringEquals": {
            "events:source": "pharmacy.orders",
            "events:detail-type": ["OrderCreated", "OrderCancellationRequested"],
        }
    }
    assert ORDER_PRODUCER in json.dumps(statement["Principal"])


def test_an_order_producer_that_is_neither_an_account_nor_an_arn_is_refused() -> None:
    with pytest.raises(ValueError, match="neither a 12-digit account id nor an IAM ARN"):
        build_app(cdk.App(context={"order_producers": "pharmacy-api"}))


def _stack(app: cdk.App) -> OrderFulfillmentStack:
    [stack] = [c for c in app.node.children if isinstance(c, OrderFulfillmentStack)]
    return stack


def _resources(context: dict[str, str]) -> dict[str, dict[str, object]]:
    template = cdk.assertions.Template.from_stack(_stack(build_app(cdk.App(context=context)))).to_json()
    return {**template["Resources"], **{f"Output:{k}": v for k, v in template.get("Outputs", {}).items()}}


def test_the_domain_events_queue_is_deployed_only_when_asked_and_every_alarm_keeps_its_id() -> None:
    # Each event the queue takes is an SQS request: 9 of a completed order's 12 when it was always there.
    default, asked = _resources({}), _resources({"domain_events_queue": "true"})
    tap = {"OrderEventsDomainEventsTap", "Output:DomainEventsQueueUrl"}
    assert not {k for k in default if any(k.startswith(t) for t in tap)}
    assert all(any(k.startswith(t) for k in asked) for t in tap)
    alarms = {k: v for k, v in default.items() if k.startswith("MonitoringDeadLetters")}
    # The runbook's ids (docs/operations.md): DeadLetters2 is the domain-events queue's, 4 the requests'.
    assert not any(k.startswith("MonitoringDeadLetters2") for k in alarms)
    assert any(k.startswith("MonitoringDeadLetters2") for k in asked)
    for stack in (default, asked):
        [requests] = [v for k, v in stack.items() if k.startswith("MonitoringDeadLetters4")]
        assert "requests dead-letter" in str(requests["Properties"]["AlarmDescription"])  # type: ignore[index]
