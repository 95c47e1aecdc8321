"""Reading the synthesized template: resources by type, the state machine definition, permissions."""

from __future__ import annotations

import json
from typing import Any

Template = dict[str, Any]


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def flatten(value: Any) -> str:
    """A Fn::Join of strings and references as text, references shown as ${LogicalId}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(flatten(p) for p in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + str(value["Fn::GetAtt"][0]) + "}"
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    raise ValueError(f"cannot flatten {value!r}")


def state_machine_definition(template: Template, logical_prefix: str = "SagaStateMachine") -> dict[str, Any]:
    [machine] = [
        m for k, m in resources(template, "AWS::StepFunctions::StateMachine").items() if k.startswith(logical_prefix)
    ]
    definition: dict[str, Any] = json.loads(flatten(machine["Properties"]["DefinitionString"]))
    return definition


def function_id(template: Template, handler_module: str) -> str:
    for logical_id, function in resources(template, "AWS::Lambda::Function").items():
        if function["Properties"]["Handler"] == f"lambdas.handlers.{handler_module}.handler":
            return logical_id
    raise KeyError(handler_module)


def function_environment(template: Template, handler_module: str) -> dict[str, Any]:
    function = template["Resources"][function_id(template, handler_module)]
    env: dict[str, Any] = function["Properties"].get("Environment", {}).get("Variables", {})
    return env


def permissions(template: Template, handler_module: str) -> list[tuple[str, Any]]:
    """(action, resource) pairs granted to the function's role."""
    function = template["Resources"][function_id(template, handler_module)]
    return role_permissions(template, function["Properties"]["Role"]["Fn::GetAtt"][0])


def role_policies(template: Template, role: str) -> dict[str, dict[str, Any]]:
    """The customer-managed policies attached to `role` (its only permissions: see test_stack)."""
    return {
        logical_id: policy
        for logical_id, policy in resources(template, "AWS::IAM::ManagedPolicy").items()
        if {"Ref": role} in policy["Properties"].get("Roles", [])
    }


def role_permissions(template: Template, role: str) -> list[tuple[str, Any]]:
    """(action, resource) pairs granted to `role`, resources by logical id (or flattened text)."""
    granted = []
    for policy in role_policies(template, role).values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                for target in targets:
                    granted.append((action, resource_name(target)))
    return granted


def resource_name(target: Any) -> str:
    if isinstance(target, str):
        return target
    if "Fn::GetAtt" in target:
        return str(target["Fn::GetAtt"][0])
    if "Ref" in target:
        return str(target["Ref"])
    return flatten(target)
