"""CloudFormation: the resource types moto skips that the local cloud creates, and what it refuses.

moto's CloudFormation finds its resource types among `CloudFormationModel`'s subclasses and
skips any other type with a warning. The local cloud's own types (the template's alarms, and
its queue, topic and bus policies) are added to the three lists moto looks types up in, rather
than made subclasses: a subclass would be moto's for good, removed patches or not.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.cloudformation import parsing

from localcloud import alarms, naming
from localcloud.access import resource_policies
from localcloud.patching import Kind, Patch

LOCAL_RESOURCE_TYPES: tuple[Any, ...] = (alarms.AlarmResource, *resource_policies.POLICY_RESOURCES)

SKIPPED_RESOURCE_TYPES: dict[str, str] = {}
"""Types the local cloud knowingly does not create, with why; any other unsupported type is refused.
None today: the policy resources and alarms moto skips are created (`access.resource_policies`, `alarms`)."""


def supported_resource_types() -> set[str]:
    return set(parsing.get_model_map())


# The maps are built from the list as moto builds them, not by calling moto's own: those are cached
# and read the list through the module, so called while patched they would keep the local types.


@functools.cache
def _model_list() -> list[Any]:
    return [*_MODEL_LIST.original(), *LOCAL_RESOURCE_TYPES]


@functools.cache
def _model_map() -> dict[str, Any]:
    return {model.cloudformation_type(): model for model in _model_list()}


@functools.cache
def _name_type_map() -> dict[str, str]:
    return {model.cloudformation_type(): model.cloudformation_name_type() for model in _model_list()}


PATCHES = (
    _MODEL_LIST := Patch(
        owner=parsing,
        name="get_model_list",
        replacement=_model_list,
        kind=Kind.GAP,
        why="moto's CloudFormation skips AWS::CloudWatch::Alarm, AWS::SQS::QueuePolicy, "
        "AWS::SNS::TopicPolicy and AWS::Events::EventBusPolicy with a warning: the alarms did not "
        "exist, and no policy was attached, so none could refuse anything. The local cloud creates them.",
    ),
    _MODEL_MAP := Patch(
        owner=parsing,
        name="get_model_map",
        replacement=_model_map,
        kind=Kind.GAP,
        why="With get_model_list: the map a resource's type is looked up in.",
    ),
    _NAME_TYPE_MAP := Patch(
        owner=parsing,
        name="get_name_type_map",
        replacement=_name_type_map,
        kind=Kind.GAP,
        why="With get_model_list: the map of each type's name property (a generated name's).",
    ),
    Patch(
        owner=parsing,
        name="generate_resource_name",
        replacement=naming.generated_name,
        kind=Kind.GAP,
        why="moto ends a generated physical name with a random suffix drawn on every deployment: each "
        "restart of `saga local up` renamed every table, queue, function and state machine; nor did it "
        "shorten a name to its service's limit (72-character function names, 82-character role names). "
        "The suffix is a hash of stack name and logical id (localcloud/naming.py); names are shortened.",
    ),
)
