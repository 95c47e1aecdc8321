"""AWS's policy evaluation logic for one request: the part of it the stack's policies need.

Not moto's evaluator (`moto.iam.access_control.IAMPolicy`): it matches a Principal only as
`*` or an AWS ARN, knows one condition operator (and counts any other as met), turns an Allow
whose condition fails into a Deny, and matches wildcards as unescaped, case-sensitive regular
expressions (`.` in an ARN matches anything, `?` means "optional"). No maintained Python
evaluator exists to use instead (principalmapper's is AGPL-licensed, unreleased since 2022).
Each rule below is the IAM User Guide's, and each is pinned by tests/unit/test_policy_evaluation.py.

- Action: IAM's wildcards (`*`, `?`), case-insensitive; Resource: the same, case-sensitive.

- Principals: `*`, `{"AWS": "*" | role ARN | account | [...]}`, `{"Service": name | [...]}`.
- Condition operators: String(Not)Equals, String(Not)EqualsIgnoreCase, String(Not)Like,
  Arn(Not)Equals, Arn(Not)Like, Bool and Null, each also ...IfExists; a key missing from the
  request makes a positive operator false and a negated one true (IAM User Guide, "Condition
  operators").
- What is not evaluated (other operators, ForAnyValue/ForAllValues, NotPrincipal,
  NotResource, policy variables, and any condition key the local cloud does not set on its
  requests: MODELLED_KEYS) fails closed: an Allow statement using it grants nothing, a Deny
  statement using it denies. The local cloud may refuse what AWS allows, never the reverse.

Combining the policies (IAM User Guide, "Policy evaluation logic"): an explicit Deny in any
policy refuses; otherwise, within one account, an Allow in the principal's identity policies
or in the resource's policy (naming the principal itself, not just its account) grants; a
principal of another account needs both; an AWS service principal has no identity policies,
so only the resource's policy can grant it; anything else is an implicit deny.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from localcloud.access.principals import Principal

Statement = Mapping[str, Any]

IDENTITY = "identity-based policy"
RESOURCE = "resource-based policy"


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    """`service:Operation`, as IAM names it (`dynamodb:PutItem`)."""
    resource: str
    """The resource's ARN, or `*` for an action with no resource-level permissions."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """Condition keys and their values (`aws:SourceArn`, ...); names are case-insensitive."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    """Why not, in AWS's words: `because no identity-based policy allows the X action`, ..."""


class _Match(Enum):
    NO = 0
    ACCOUNT = 1
    """The statement names the principal's account: within that account it delegates to IAM."""
    PRINCIPAL = 2


def statements(document: Mapping[str, Any] | str) -> list[Statement]:
    loaded = json.loads(document) if isinstance(document, str) else document
    found = loaded.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def evaluate(
    request: Request,
    identity: Sequence[Statement],
    resource_policy: Sequence[Statement],
    resource_account: str | None,
    *,
    trust: bool = False,
) -> Decision:
    """Whether AWS allows `request`, given the caller's identity statements and the resource's.

    `trust`: the resource policy is a role's trust policy (sts:AssumeRole), which must allow the
    caller itself, or its account and then the caller's identity policies too (IAM User Guide,
    "Granting a user permissions to switch roles")."""
    principal = request.principal
    context = {key.lower(): value for key, value in request.context.items()}
    if trust:  # a trust policy's statements name no Resource: the role they are attached to
        resource_policy = [{"Resource": request.resource, **s} for s in resource_policy]
    if any(_denies(s, request, context) for s in identity):
        return Decision(False, f"with an explicit deny in an {IDENTITY}")
    resource = _resource_policy_grants(request, context, resource_policy, resource_account)
    if resource is None:
        return Decision(False, f"with an explicit deny in a {RESOURCE}")
    resource_grant, account_grant = resource
    if principal.service:
        return Decision(True) if resource_grant else Decision(False, _no_allow(RESOURCE, request))
    identity_grant = principal.is_root or any(_allows(s, request, context) for s in identity)
    if trust:
        foreign = principal.account is not None and principal.account != resource_account
        if (resource_grant and (identity_grant or not foreign)) or (account_grant and identity_grant):
            return Decision(True)
        return Decision(
            False,
            _no_allow(IDENTITY, request) if account_grant else "because the role's trust policy does not allow it",
        )
    if principal.account is not None and resource_account is not None and principal.account != resource_account:
        if not identity_grant:
            return Decision(False, _no_allow(IDENTITY, request))
        return Decision(True) if resource_grant else Decision(False, _no_allow(RESOURCE, request))
    if identity_grant or resource_grant:
        return Decision(True)
    return Decision(False, _no_allow(IDENTITY, request))


def _resource_policy_grants(
    request: Request, context: Mapping[str, Any], resource_policy: Sequence[Statement], resource_account: str | None
) -> tuple[bool, bool] | None:
    """None if the resource's policy denies; else whether it grants the principal itself, and whether
    it grants the principal's account only (which, within that account, delegates to IAM)."""
    principal = request.principal
    cross_account = principal.account is not None and principal.account != resource_account
    resource_grant = account_grant = False
    for statement in resource_policy:
        match = _principal_match(statement, principal)
        if match is _Match.NO:
            continue
        if _denies(statement, request, context):
            return None
        if _allows(statement, request, context):
            if match is _Match.PRINCIPAL or cross_account:
                resource_grant = True
            else:
                account_grant = True
    return resource_grant, account_grant


def _no_allow(kind: str, request: Request) -> str:
    return f"because no {kind} allows the {request.action} action"


# --- one statement --------------------------------------------------------------------


def _denies(statement: Statement, request: Request, context: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Deny" and _applies(statement, request, context, unknown_matches=True)


def _allows(statement: Statement, request: Request, context: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow" and _applies(statement, request, context, unknown_matches=False)


def _applies(statement: Statement, request: Request, context: Mapping[str, Any], *, unknown_matches: bool) -> bool:
    """Whether the statement's Condition, Action and Resource match; what is not evaluated
    counts as a match for a Deny and as none for an Allow (`unknown_matches`)."""
    if _unevaluated_elements(statement):
        return unknown_matches and _action_matches(statement, request, any_resource=True)
    held = _conditions_hold(statement.get("Condition") or {}, context)
    if held is None:
        held = unknown_matches
    return held and _action_matches(statement, request, any_resource=False)


def _unevaluated_elements(statement: Statement) -> bool:
    if "NotPrincipal" in statement or "NotResource" in statement or "Resource" not in statement:
        return True
    return "${" in json.dumps(statement)  # a policy variable


def _listed(element: Any) -> list[str]:
    return [element] if isinstance(element, str) else [str(e) for e in element]


def _action_matches(statement: Statement, request: Request, *, any_resource: bool) -> bool:
    """The statement's Action (or NotAction) covers the action, and its Resource the resource."""
    if "NotAction" in statement:
        acts = not any(_glob(p, ignore_case=True).match(request.action) for p in _listed(statement["NotAction"]))
    elif "Action" in statement:
        acts = any(_glob(p, ignore_case=True).match(request.action) for p in _listed(statement["Action"]))
    else:
        return False
    if not acts:
        return False
    return any_resource or any(_glob(p).match(request.resource) for p in _listed(statement["Resource"]))


def _principal_match(statement: Statement, principal: Principal) -> _Match:
    element = statement.get("Principal")
    if element is None:
        # NotPrincipal, or no principal at all: not evaluated. Fail closed (a Deny applies to everyone).
        return _Match.PRINCIPAL if statement.get("Effect") == "Deny" else _Match.NO
    if element == "*":
        return _Match.PRINCIPAL
    if not isinstance(element, Mapping):
        return _Match.NO
    best = _Match.NO
    for kind, values in element.items():
        for value in [values] if isinstance(values, str) else values:
            if kind == "AWS":
                best = max(best, _aws_principal_match(str(value), principal), key=lambda m: m.value)
            elif kind == "Service" and principal.service and value == principal.arn:
                return _Match.PRINCIPAL
    return best


def _aws_principal_match(value: str, principal: Principal) -> _Match:
    if value == "*":
        return _Match.PRINCIPAL  # IAM: {"AWS": "*"} is the same as "*"
    if principal.service:
        return _Match.NO
    if value == principal.arn and not principal.is_root:
        return _Match.PRINCIPAL
    if value in (principal.account, f"arn:aws:iam::{principal.account}:root"):
        return _Match.PRINCIPAL if principal.is_root else _Match.ACCOUNT
    return _Match.NO


# --- conditions -----------------------------------------------------------------------

_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"})

MODELLED_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SecureTransport",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalIsAWSService",
        "aws:SourceArn",
        "aws:SourceAccount",
    )
)
"""The condition keys the local cloud sets on every request when AWS would: for these, a missing key
is really missing. Any other key is evaluated only where a request carries it (PutEvents' entries
carry events:source and events:detail-type); elsewhere (aws:RequestedRegion, aws:PrincipalTag/...,
aws:CalledVia, events:source on PutRule, ...) it may be present on AWS, so a condition on it is not
evaluated (fails closed)."""


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool | None:
    """True or False; None when some condition cannot be evaluated (and none is known false)."""
    result: bool | None = True
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            held = _condition(operator, key.lower(), _values(expected), context)
            if held is False:
                return False
            if held is None:
                result = None
    return result


def _values(expected: Any) -> list[str]:
    values = expected if isinstance(expected, list) else [expected]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def _condition(operator: str, key: str, expected: list[str], context: Mapping[str, Any]) -> bool | None:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in _OPERATORS and base != "Null":
        return None  # Numeric*, Date*, IpAddress, ForAnyValue:..., ...: not evaluated locally
    actual = context.get(key)
    if actual is None and key not in MODELLED_KEYS:
        return None
    if base == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    if actual is None:
        return True if if_exists else base in _NEGATED
    text = str(actual).lower() if isinstance(actual, bool) else str(actual)
    return bool(_OPERATORS[base](text, expected))


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters, `?` exactly one; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _arn_like(actual: str, pattern: str) -> bool:
    """Each of an ARN's six colon-separated parts is matched on its own (IAM User Guide, ARN operators)."""
    actual_parts, pattern_parts = actual.split(":", 5), pattern.split(":", 5)
    if len(actual_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(_glob(p).match(a) for a, p in zip(actual_parts, pattern_parts, strict=True))


def _any(values: Iterable[str], test: Any) -> bool:
    return any(test(v) for v in values)


_OPERATORS: dict[str, Any] = {
    "StringEquals": lambda a, e: a in e,
    "StringNotEquals": lambda a, e: a not in e,
    "StringEqualsIgnoreCase": lambda a, e: a.lower() in {v.lower() for v in e},
    "StringNotEqualsIgnoreCase": lambda a, e: a.lower() not in {v.lower() for v in e},
    "StringLike": lambda a, e: _any(e, lambda p: _glob(p).match(a)),
    "StringNotLike": lambda a, e: not _any(e, lambda p: _glob(p).match(a)),
    "ArnEquals": lambda a, e: _any(e, lambda p: _arn_like(a, p)),
    "ArnLike": lambda a, e: _any(e, lambda p: _arn_like(a, p)),
    "ArnNotEquals": lambda a, e: not _any(e, lambda p: _arn_like(a, p)),
    "ArnNotLike": lambda a, e: not _any(e, lambda p: _arn_like(a, p)),
    "Bool": lambda a, e: a.lower() in {v.lower() for v in e},
}
