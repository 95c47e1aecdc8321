"""Reading what a saga did on the local cloud: its stream, its execution, its published events."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.orders import US_ADDRESS, order
from harness.queries import business_records
from harness.target import Target
from infra import names
from lambdas.adapters import step_functions
from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.adapters.dynamodb_projection import DynamoDBProjection
from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView
from lambdas.logic.repository import stream_id_for
from localcloud.deploy import CloudAssembly

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import ExecutionListItemTypeDef

__all__ = ["US_ADDRESS", "order"]  # the harness's own, for the tests that import them from here


def event_store(cloud: Target) -> DynamoDBEventStore:
    return cloud.event_store()


def projection(cloud: Target) -> DynamoDBProjection:
    return cloud.projection()


def history(cloud: Target, order_id: str) -> list[StoredEvent]:
    return event_store(cloud).read(stream_id_for(order_id))


def view(cloud: Target, order_id: str) -> SagaView:
    found = projection(cloud).get(order_id)
    assert found is not None, f"no projection row for {order_id}"
    return found


def execution_arn(cloud: Target, order_id: str) -> str:
    return step_functions.execution_arn(cloud.output(names.OUTPUT_STATE_MACHINE), order_id)


def executions(cloud: Target) -> list[ExecutionListItemTypeDef]:
    sfn = cloud.client("stepfunctions")
    found: list[ExecutionListItemTypeDef] = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE]
    ):
        found.extend(page["executions"])
    return found


def states_entered(cloud: Target, order_id: str) -> list[str]:
    events = cloud.client("stepfunctions").get_execution_history(
        executionArn=execution_arn(cloud, order_id), maxResults=1000
    )["events"]
    entered = []
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details:
            entered.append(details["name"])
    return entered


def drain(cloud: Target, queue_url: str) -> list[str]:
    """Take every message out of a queue; their bodies."""
    return cloud.drain(queue_url)


def published(cloud: Target) -> list[dict[str, Any]]:  # every event the tap holds, taken out of it
    """The domain events EventBridge delivered to the domain events tap."""
    if names.OUTPUT_DOMAIN_EVENTS_QUEUE not in cloud.outputs:
        pytest.skip("the stack has no domain events queue to read: deploy it with -c domain_events_queue=true")
    return [json.loads(body) for body in drain(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])]


def stock(cloud: Target) -> dict[str, tuple[int, int]]:
    from harness.seed import stock as read_stock

    return read_stock(cloud)


def records(cloud: Target, table_suffix: str, order_id: str | None = None) -> list[dict[str, Any]]:
    """Every item of a business table (Prescriptions, Reservations, Shipments), or those of one order."""
    return business_records(cloud, table_suffix, order_id)


def edited_assembly(assembly: CloudAssembly, directory: Path, edit: Callable[[dict[str, Any]], None]) -> CloudAssembly:
    """A copy of the synthesized assembly in `directory`, its template changed by `edit`."""
    shutil.copytree(assembly.directory, directory)
    path = directory / f"{assembly.stack_name}.template.json"
    template = json.loads(path.read_text())
    edit(template)
    path.write_text(json.dumps(template))
    return CloudAssembly(directory, assembly.stack_name)
