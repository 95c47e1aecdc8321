"""EventBridge: the template's bus and archive, created by CloudFormation as AWS creates them."""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import Archive, EventBus

from localcloud.patching import Kind, Patch

ARCHIVE_NAME_MAX = 48


def _event_bus_physical_id(self: EventBus) -> str:
    return str(self.name)


def _archive_from_cloudformation(
    cls: type[Archive], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Archive:
    properties = cloudformation_json["Properties"]
    if isinstance(properties.get("EventPattern"), dict):
        properties["EventPattern"] = json.dumps(properties["EventPattern"])
    name = resource_name
    if len(name) > ARCHIVE_NAME_MAX:
        name = name[:35] + "-" + name[-12:]
    archive: Archive = _ARCHIVE_FROM_CLOUDFORMATION.original(
        cls, name, cloudformation_json, account_id, region_name, **kwargs
    )
    return archive


PATCHES = (
    Patch(
        owner=EventBus,
        name="physical_resource_id",
        replacement=property(_event_bus_physical_id),
        kind=Kind.GAP,
        why="A Ref to an AWS::Events::EventBus is the bus's name on CloudFormation; moto's Ref "
        "returns the model object itself.",
    ),
    _ARCHIVE_FROM_CLOUDFORMATION := Patch(
        owner=Archive,
        name="create_from_cloudformation_json",
        replacement=_archive_from_cloudformation,
        kind=Kind.GAP,
        why="CloudFormation passes an archive's EventPattern as an object (moto expects JSON text) "
        "and shortens a generated name past 48 characters, as moto does not.",
    ),
)
