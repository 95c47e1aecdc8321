"""Reading what a saga did on the local cloud: its stream, its execution, its published events."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra import names
from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.adapters.dynamodb_projection import DynamoDBProjection
from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView
from lambdas.logic.repository import stream_id_for
from localcloud.cloud import LocalCloud
from localcloud.deploy import CloudAssembly

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def order(order_id: str, *medications: Any, **extra: Any) -> dict[str, Any]:
    return {"order_id": order_id, "patient_id": f"patient-of-{order_id}", "medications": list(medications), **extra}


def event_store(cloud: LocalCloud) -> DynamoDBEventStore:
    return DynamoDBEventStore(cloud.client("dynamodb"), cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE])


def projection(cloud: LocalCloud) -> DynamoDBProjection:
    return cloud.projection()


def history(cloud: LocalCloud, order_id: str) -> list[StoredEvent]:
    return event_store(cloud).read(stream_id_for(order_id))


def view(cloud: LocalCloud, order_id: str) -> SagaView:
    found = projection(cloud).get(order_id)
    assert found is not None, f"no projection row for {order_id}"
    return found


def execution_arn(cloud: LocalCloud, order_id: str) -> str:
    machine = cloud.outputs[names.OUTPUT_STATE_MACHINE]
    return machine.replace(":stateMachine:", ":execution:") + f":{order_id}"


def executions(cloud: LocalCloud) -> list[dict[str, Any]]:
    sfn = cloud.client("stepfunctions")
    found: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE]
    ):
        found.extend(page["executions"])
    return found


def states_entered(cloud: LocalCloud, order_id: str) -> list[str]:
    events = cloud.client("stepfunctions").get_execution_history(
        executionArn=execution_arn(cloud, order_id), maxResults=1000
    )["events"]
    entered = []
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details:
            entered.append(details["name"])
    return entered


def drain(cloud: LocalCloud, queue_url: str) -> list[str]:
    """Take every message out of a queue; their bodies."""
    return cloud.drain(queue_url)


def published(cloud: LocalCloud) -> list[dict[str, Any]]:
    """The domain events EventBridge delivered to the domain events tap."""
    return [json.loads(body) for body in drain(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])]


def stock(cloud: LocalCloud) -> dict[str, tuple[int, int]]:
    from localcloud.seed import stock as read_stock

    return read_stock(cloud.client("dynamodb"), cloud.outputs)


def records(cloud: LocalCloud, table_suffix: str) -> list[dict[str, Any]]:
    """Every item of a business table, found by its logical name (Prescriptions, Reservations, Shipments)."""
    dynamodb = cloud.client("dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if f"BusinessTables{table_suffix}" in t)
    items: list[dict[str, Any]] = dynamodb.scan(TableName=table)["Items"]
    return items


def edited_assembly(assembly: CloudAssembly, directory: Path, edit: Callable[[dict[str, Any]], None]) -> CloudAssembly:
    """A copy of the synthesized assembly in `directory`, its template changed by `edit`."""
    shutil.copytree(assembly.directory, directory)
    path = directory / f"{assembly.stack_name}.template.json"
    template = json.loads(path.read_text())
    edit(template)
    path.write_text(json.dumps(template))
    return CloudAssembly(directory, assembly.stack_name)
