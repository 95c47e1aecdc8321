"""Where the policies of a request are found: the caller's role (its managed and inline policies, its
permissions boundary) and the resource's own policy (queue, topic, event bus, a role's trust policy),
read from moto's backends as they are at the time of the call; `enforcement` decides with them.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from localcloud.access import policies
from localcloud.access.policies import Statement
from localcloud.access.principals import Principal


def _iam(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def identity(principal: Principal) -> tuple[Any, list[Statement], list[Statement] | None]:
    """(cache key, identity statements, permissions boundary statements or None) of a principal."""
    if not principal.is_role or principal.account is None:
        return None, [], None
    backend = _iam(principal.account)
    role = _role(backend, principal.arn)
    if role is None:
        return "no such role", [], None
    managed = tuple((arn, p.default_version_id) for arn, p in role.managed_policies.items())
    inline = tuple(role.policies.items())
    boundary_arn = role.permissions_boundary_arn or None
    boundary_policy = backend.managed_policies.get(boundary_arn) if boundary_arn else None
    boundary_version = boundary_policy.default_version_id if boundary_policy is not None else None
    key = (managed, inline, boundary_arn, boundary_version)
    return key, _role_statements(principal.account, managed, inline), _boundary(backend, boundary_arn)


def _role(backend: Any, role_arn: str) -> Any:
    name = role_arn.rsplit("/", 1)[1]
    return next((role for role in backend.roles.values() if role.name == name), None)


@functools.lru_cache(maxsize=1024)
def _role_statements(account: str, managed: tuple[Any, ...], inline: tuple[Any, ...]) -> list[Statement]:
    backend = _iam(account)
    found: list[Statement] = []
    for arn, _ in managed:
        policy = backend.managed_policies.get(arn)
        if policy is not None:
            found.extend(_default_version(policy))
    for _, document in inline:
        found.extend(policies.statements(document))
    return found


def _default_version(policy: Any) -> list[Statement]:
    version = next((v for v in policy.versions if v.is_default), None)
    return policies.statements(version.document) if version is not None else []


def _boundary(backend: Any, arn: str | None) -> list[Statement] | None:
    if not arn:
        return None
    policy = backend.managed_policies.get(arn)
    return _default_version(policy) if policy is not None else []


def resource_policy(resource: str) -> tuple[Any, list[Statement]]:
    """(cache key, statements) of the policy attached to `resource` (queue, topic, event bus)."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return None, []
    _, _, service, region, account, name = parts
    document: Any = None
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[account][region].queues.get(name)
        document = queue.policy if queue is not None else None
    elif service == "sns":
        from moto.sns.models import sns_backends

        topic = sns_backends[account][region].topics.get(resource)
        document = json.dumps(topic._policy_json) if topic is not None else None
    elif service == "iam" and name.startswith("role/"):
        # A role's trust policy is the resource policy sts:AssumeRole is decided on.
        role = _role(_iam(account), resource)
        document = role.assume_role_policy_document if role is not None else None
    elif service == "events" and name.startswith("event-bus/"):
        from moto.events.models import events_backends

        bus = events_backends[account][region].event_buses.get(name.split("/", 1)[1])
        document = bus.policy if bus is not None else None
    if not document:
        return None, []
    text = document if isinstance(document, str) else json.dumps(document)
    return text, _parsed(text)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> list[Statement]:
    return policies.statements(text)


def account_of(resource: str) -> str | None:
    parts = resource.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def global_context(principal: Principal) -> dict[str, Any]:
    """The global condition keys AWS sets on every request (IAM User Guide, "AWS global condition
    context keys"). `aws:SecureTransport` is true: AWS's endpoints are TLS; the local endpoint
    is plain HTTP and counts as TLS (the README's list of what is not enforced says so)."""
    context: dict[str, Any] = {"aws:SecureTransport": True, "aws:PrincipalIsAWSService": principal.service}
    if not principal.service:
        context["aws:PrincipalArn"] = principal.arn
        context["aws:PrincipalAccount"] = principal.account
    return context


def forget_roles() -> None:
    """Forget the role statements read so far (a reset cloud's roles are new ones)."""
    _role_statements.cache_clear()
