"""Physical names: the same on every deployment of a stack, as CloudFormation shapes them, within each service's limit.

After a restart of `saga local up` a console, an `.env` file or a teammate's command still names
the same tables, queues, functions and state machines (issue 26, item 5).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harness.inprocess import deployed
from localcloud.deploy import CloudAssembly
from localcloud.naming import generated_name
from tests.localcloud.pins import moto_own, pins

NAMING = "cloudformation.parsing.generate_resource_name"
DASHBOARD = "cloudwatch.Dashboard.create_from_cloudformation_json"

RANDOM_ON_AWS_TOO = {"AWS::KMS::Key", "AWS::Lambda::EventSourceMapping"}
"""Types whose physical id is no name: AWS assigns a key id and a mapping's UUID afresh on every creation
(the Ref return values in the CloudFormation template reference of AWS::KMS::Key and
AWS::Lambda::EventSourceMapping)."""

LIMITS = {
    "AWS::Lambda::Function": ("FunctionName", 64),  # Lambda API reference, CreateFunction: a name alone, 64
    "AWS::IAM::Role": ("RoleName", 64),  # IAM user guide, "IAM and AWS STS quotas": role name, 64
    "AWS::SQS::Queue": ("QueueName", 80),  # SQS API reference, CreateQueue: up to 80 characters
    "AWS::StepFunctions::StateMachine": ("StateMachineName", 80),  # API reference, StateMachineListItem: 80
    "AWS::Events::Rule": ("Name", 64),  # EventBridge API reference, PutRule Name: 1 to 64
}
"""Each type's name property and the longest name its service accepts, from AWS's references (not from
localcloud/naming.py)."""


def _names(cloud: Any, stack: str) -> dict[str, tuple[str, str]]:
    """Logical id: (type, the name in its physical id) for every resource of the stack."""
    found = {}
    for page in cloud.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            physical = resource.get("PhysicalResourceId", "")
            # A queue's physical id is its URL, an ARN ends in the name: the name is the last part
            found[resource["LogicalResourceId"]] = (resource["ResourceType"], re.split(r"[/:]", physical)[-1])
    return found


@pytest.fixture(scope="module")
def two_deployments(assembly: CloudAssembly) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack deployed in one local cloud, that cloud stopped, and the stack deployed in another:
    each time its resources' names, its outputs, and whether the stock the first one was given is there."""
    seen: list[dict[str, Any]] = []
    for _ in range(2):
        with deployed(assembly) as cloud:
            dynamodb, stock = cloud.client("dynamodb"), cloud.outputs["InventoryTableName"]
            probe = {"medication_id": {"S": "med-restart-probe"}}
            found = "Item" in dynamodb.get_item(TableName=stock, Key=probe)
            dynamodb.put_item(TableName=stock, Item={**probe, "available": {"N": "7"}, "reserved": {"N": "0"}})
            seen.append({"names": _names(cloud, assembly.stack_name), "outputs": dict(cloud.outputs), "found": found})
    return seen[0], seen[1]


@pins(NAMING, DASHBOARD)
def test_a_second_deployment_of_the_stack_names_every_resource_as_the_first(
    two_deployments: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, second = two_deployments
    assert first["outputs"] == second["outputs"]  # tables, queues, buses, state machines, dashboard, topic
    named = {k: v for k, v in first["names"].items() if v[0] not in RANDOM_ON_AWS_TOO}
    assert named == {k: v for k, v in second["names"].items() if v[0] not in RANDOM_ON_AWS_TOO}
    # Both deployments really created the stack: its seven tables (infra/tables.py, infra/event_store.py)
    assert sum(1 for kind, _ in named.values() if kind == "AWS::DynamoDB::Table") == 7


def test_a_second_deployment_keeps_the_names_and_none_of_the_data_and_the_docs_say_so(
    two_deployments: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, second = two_deployments
    assert first["outputs"]["InventoryTableName"] == second["outputs"]["InventoryTableName"]
    assert not second["found"], "the stock given to the first deployment is in the second"
    # What the README and docs/local-cloud.md say of a restart is what it does (they once called the
    # endpoint persistent, and its tables forgetful of "nothing, ever")
    root = Path(__file__).resolve().parents[2]
    readme, local_cloud = (root / "README.md").read_text(), (root / "docs" / "local-cloud.md").read_text()
    for doc in (readme, local_cloud, (root / "docs" / "operations.md").read_text()):
        assert "persistent" not in doc
        assert "nothing, ever" not in doc
    assert "a restart keeps the names, not the data" in readme
    assert "## What a restart keeps: the names, nothing else" in local_cloud


def test_generated_names_keep_cloudformations_shape_and_each_services_limit(
    two_deployments: tuple[dict[str, Any], dict[str, Any]], assembly: CloudAssembly
) -> None:
    names, stack = two_deployments[0]["names"], assembly.stack_name
    template = assembly.template["Resources"]
    generated = {
        logical: (kind, name)
        for logical, (kind, name) in names.items()
        if kind in LIMITS and LIMITS[kind][0] not in template[logical].get("Properties", {})
    }
    assert {kind for kind, _ in generated.values()} == set(LIMITS), "the stack names no resource of these types"
    for logical, (kind, name) in generated.items():
        assert len(name) <= LIMITS[kind][1], f"{kind} {name}: {len(name)} characters"
        # "Name type": {stack}-{logical id, shortened if need be}-{12 characters}; letters, digits and
        # hyphens, not ending in one, no two together
        assert re.fullmatch(rf"{stack}-[A-Za-z0-9]+-[A-Z0-9]{{12}}", name), name
        assert logical.startswith(name.split("-")[1])


def test_another_stack_or_resource_gets_another_name_even_when_shortened() -> None:
    long_id = "FunctionsRecordCompensationFailureAndThenSomeB954544F"
    twin_id = "FunctionsRecordCompensationFailureAndThenSomeC0FFEE00"
    lambda_type = "AWS::Lambda::Function"
    names = {
        generated_name(lambda_type, "OrderFulfillment", long_id),
        generated_name(lambda_type, "OrderFulfillment", twin_id),
        generated_name(lambda_type, "OrderFulfillmentStaging", long_id),
    }
    assert len(names) == 3
    assert all(len(name) <= 64 and "--" not in name and not name.endswith("-") for name in names)
    # A stack name that leaves a hyphen at the cut does not make a double one
    cut = generated_name(lambda_type, "a" * 50 + "-b", "Fn")
    assert "--" not in cut
    assert len(cut) <= 64


def _stack_with_a_queue_and_a_dashboard() -> str:
    return json.dumps(
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue"},
                "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": '{"widgets": []}'}},
            }
        }
    )


def _deploy_in_a_fresh_cloud(stack: str) -> tuple[str, str]:
    """The queue's and the dashboard's names from a deployment of `stack` in a cloud of its own, as a restart."""
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(StackName=stack, TemplateBody=_stack_with_a_queue_and_a_dashboard())
        [queue_url] = boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"]
        [board] = boto3.client("cloudwatch", region_name="us-east-1").list_dashboards()["DashboardEntries"]
    return queue_url.rsplit("/", 1)[-1], board["DashboardName"]


@pins(NAMING, DASHBOARD)
def test_moto_still_draws_names_at_random_and_the_patches_derive_them() -> None:
    with moto_own(NAMING, DASHBOARD):
        first, second = _deploy_in_a_fresh_cloud("s"), _deploy_in_a_fresh_cloud("s")
    assert first[0] != second[0]
    assert first[1] != second[1]
    assert re.fullmatch(r"[0-9a-f-]{36}", first[1]), "moto no longer names a dashboard by a UUID"
    first, second = _deploy_in_a_fresh_cloud("s"), _deploy_in_a_fresh_cloud("s")
    assert first == second
    assert first[0].startswith("s-Queue-")
    assert first[1].startswith("s-Board-")
