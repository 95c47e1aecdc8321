"""Every request moto serves is authorised first, as AWS authorises it.

Replaces moto's `_authenticate_and_authorize_normal_action`, which every service's
`call_action` runs before the action (moto's own version checks signatures and the action
on `*` only, and is off unless asked for). Here the caller is found (`principals`), the
request becomes the actions and resource ARNs IAM checks (`actions`), and each is decided
against the caller's identity policies and the resource's policy (`policies`; `policy_sources`
finds them). A refusal is answered in the service's own error shape: a handler sees the
`AccessDeniedException` (SQS: `AccessDenied`, SNS: `AuthorizationError`) that AWS would give it.

What is enforced is recorded: the grants each role used (tests derive the permissions a
function needs from them), and every refusal (a test's cloud must end with none it did
not provoke).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from moto.core.responses import BaseResponse
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from localcloud.access import actions, policies, policy_sources, principals
from localcloud.access.actions import Arns, Check
from localcloud.access.policies import Decision, Request
from localcloud.access.principals import Principal
from localcloud.patching import Kind, Patch

ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
"""AWS answers GetCallerIdentity whatever the policies say (STS API reference)."""
NOT_MODELLED = {
    "sts:AssumeRoleWithWebIdentity": "federated principals are not modelled by the local cloud",
    "sts:AssumeRoleWithSAML": "federated principals are not modelled by the local cloud",
}
"""Refused locally: moto accepts any token, and the trust policies' federated principals are not evaluated."""
UNENFORCED_SERVICES = frozenset({"s3"})
"""S3 goes through its own hook in moto, and only the deployment's asset upload uses it."""


@dataclass(frozen=True)
class Refusal:
    principal: str
    action: str
    resource: str
    message: str


def denial_message(principal: Principal, check: Check, decision: Decision) -> str:
    return (
        f"User: {principal.describe()} is not authorized to perform: {check.action} "
        f"on resource: {check.resource} {decision.reason}"
    )


class Authorizer:
    """Decides requests on the IAM, SQS, SNS and EventBridge state held by moto's backends."""

    def __init__(self) -> None:
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self._lock = threading.Lock()
        self.granted: set[tuple[str, str, str]] = set()
        """(role ARN, action, resource) of every call a role made and was allowed."""
        self.refused: list[Refusal] = []
        self._seen_refusals: set[Refusal] = set()

    def decide(self, principal: Principal, check: Check) -> Decision:
        if check.action in ALWAYS_ALLOWED:
            return Decision(True)
        if check.action in NOT_MODELLED:
            return Decision(False, f"because {NOT_MODELLED[check.action]}")
        identity_key, identity, boundary = policy_sources.identity(principal)
        resource_key, resource_policy = policy_sources.resource_policy(check.resource)
        key = (principal, identity_key, check.action, check.resource, tuple(check.context.items()), resource_key)
        decision = self._decisions.get(key)
        if decision is None:
            context = {**policy_sources.global_context(principal), **check.context}
            request = Request(principal, check.action, check.resource, context)
            trust = check.action == "sts:AssumeRole"
            account = policy_sources.account_of(check.resource)
            decision = policies.evaluate(request, identity, resource_policy, account, trust=trust)
            if decision.allowed and boundary is not None and not policies.evaluate(request, boundary, [], None).allowed:
                decision = Decision(False, f"because no permissions boundary allows the {check.action} action")
            with self._lock:
                if len(self._decisions) > 100_000:
                    self._decisions.clear()
                self._decisions[key] = decision
        return decision

    def check(self, principal: Principal, check: Check) -> Refusal | None:
        """Decide and record: None when allowed, else the refusal."""
        decision = self.decide(principal, check)
        if decision.allowed:
            if principal.is_role:
                self.granted.add((principal.arn, check.action, check.resource))
            return None
        refusal = Refusal(principal.arn, check.action, check.resource, denial_message(principal, check, decision))
        with self._lock:
            if refusal not in self._seen_refusals:  # a poller refused at every poll is one refusal
                self._seen_refusals.add(refusal)
                self.refused.append(refusal)
        return refusal

    def forget(self, resources: set[str]) -> None:
        """Forget what was decided and granted on resources that are gone (the log streams, one per
        invocation, that retention forgets): both would otherwise grow with every invocation."""
        with self._lock:
            for key in [key for key in self._decisions if key[3] in resources]:
                del self._decisions[key]
        # In place: check() adds to it without the lock.
        self.granted.difference_update([grant for grant in list(self.granted) if grant[2] in resources])

    def reset(self) -> None:
        with self._lock:
            self._decisions.clear()
            self.granted = set()
            self.refused = []
            self._seen_refusals = set()
        policy_sources.forget_roles()


AUTHORIZER = Authorizer()
"""One per process, as moto's backends are."""


# --- who is calling ----------------------------------------------------------------------


def caller(response: BaseResponse) -> Principal:
    """The context's principal; else the role an STS session's credentials belong to; else the account."""
    found = principals.current()
    if found is not None:
        return found
    account = str(response.current_account)
    key = str(getattr(response, "access_key", "") or "")
    role = _assumed_role(account, key) if key.startswith("ASIA") else None
    return role or Principal.account_root(account)


def _assumed_role(account: str, access_key: str) -> Principal | None:
    from moto.sts.models import sts_backends

    for assumed in sts_backends[account]["aws"].assumed_roles:
        if assumed.access_key_id == access_key:
            return Principal.role(assumed.role_arn, assumed.session_name)
    return None


# --- the hook ------------------------------------------------------------------------------


def _params(response: BaseResponse) -> dict[str, Any]:
    if str(response.service_name) == "awslambda":
        # A REST API: its parameters are in the path and the query string; the body is the payload.
        return {key: values[0] for key, values in response.querystring.items() if values}
    if getattr(response, "automated_parameter_parsing", False):
        return dict(getattr(response, "params", {}) or {})
    body = response.body
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.lstrip().startswith("{"):
        try:
            loaded = json.loads(body)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return loaded
    return {key: values[0] for key, values in response.querystring.items() if values}


def authorize(response: BaseResponse) -> None:
    """moto's authorisation hook: refuse the request as AWS would, or let it through."""
    service = str(response.service_name)
    if service in UNENFORCED_SERVICES:
        return
    principal = caller(response)
    operation = response._get_action()
    if not operation:
        if principal.is_root:
            return  # moto answers a request it cannot name with an error of its own
        operation = "UnknownOperation"  # checked on *: a role is refused
    arns = Arns(str(response.current_account), str(response.region), str(getattr(response, "partition", "aws")))
    for check in actions.checks(service, operation, _params(response), arns, str(response.path)):
        refusal = AUTHORIZER.check(principal, check)
        if refusal is not None:
            raise error_for(service, response, refusal)


def error_for(service: str, response: BaseResponse, refusal: Refusal) -> Exception:
    """The refusal in the service's own shape (status, error code, JSON or XML)."""
    from moto.core.exceptions import JsonRESTError, _RESTError

    json_request = "X-Amz-Target" in response.headers or service == "awslambda"
    if service == "sns":
        error: Any = _RESTError("AuthorizationError", refusal.message)
        error.code = 403
    elif service == "sqs" and json_request:
        # SQS speaks JSON but keeps its query-era error codes in a header botocore reads.
        response.response_headers["x-amzn-query-error"] = "AccessDenied;Sender"
        error = JsonRESTError("com.amazon.coral.service#AccessDeniedException", refusal.message)
        error.code = 400
    elif json_request:
        error = JsonRESTError("AccessDeniedException", refusal.message)
        error.code = 403 if service == "awslambda" else 400
    else:
        error = _RESTError("AccessDenied", refusal.message)
        error.code = 403
    response.response_headers["x-amzn-ErrorType"] = error.relative_error_type
    response.response_headers["Content-Type"] = error.content_type
    return error  # type: ignore[no-any-return]


def _authenticate_and_authorize_normal_action(self: BaseResponse, resource: str = "*") -> None:
    # moto's `resource` is "*" but for a few services: the resource ARNs are found from the request.
    authorize(self)


def _execution_as_its_role(self: ExecutionWorker) -> None:
    """An execution's tasks call AWS (invoke Lambda) as its state machine's role, as on AWS."""
    role = self._evaluation_details.aws_execution_details.role_arn
    with principals.acting_as(Principal.role(role, session="StepFunctions")):
        _EXECUTION_LOGIC.original(self)


def _start_as_creators_caller(self: threading.Thread) -> None:
    # A new thread starts with an empty context in Python 3.11: whatever a handler or an execution
    # starts (moto's engine runs each execution, task, Map iteration and Parallel branch on a thread
    # of its own) would call AWS as the account itself. Each thread keeps its creator's caller (only
    # that: the creator's environment and log routing stay the creator's).
    self._caller = principals.current()  # type: ignore[attr-defined]
    _THREAD_START.original(self)


def _run_as(caller: Principal | None, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    with principals.acting_as(caller):  # None too: a worker made for another caller forgets it
        return fn(*args, **kwargs)


def _submit_as_submitters_caller(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    # A pool's workers are made by whoever submits first and then serve every submitter: each task
    # runs as the caller that submitted it, whichever worker runs it.
    return _SUBMIT.original(self, _run_as, principals.current(), fn, *args, **kwargs)


def _bootstrap_as_caller(self: threading.Thread) -> None:
    caller = getattr(self, "_caller", None)
    if caller is None:
        _BOOTSTRAP_INNER.original(self)
        return
    with principals.acting_as(caller):
        _BOOTSTRAP_INNER.original(self)


PATCHES = (
    Patch(
        owner=BaseResponse,
        name="_authenticate_and_authorize_normal_action",
        replacement=_authenticate_and_authorize_normal_action,
        kind=Kind.GAP,
        why="moto authorises nothing unless asked to, and then only actions on *, without resource "
        "policies: a call AWS refuses succeeded locally. Every request is decided as IAM decides it.",
    ),
    _EXECUTION_LOGIC := Patch(
        owner=ExecutionWorker,
        name="_execution_logic",
        replacement=_execution_as_its_role,
        kind=Kind.GAP,
        why="moto's engine calls AWS (invokes a task's Lambda) as whoever started the execution; on "
        "AWS an execution acts as its state machine's role.",
    ),
    _THREAD_START := Patch(
        owner=threading.Thread,
        name="start",
        replacement=_start_as_creators_caller,
        kind=Kind.GAP,
        why="A new thread starts with an empty context (Python 3.11): what a handler or an execution "
        "starts on a thread (moto's engine runs each task, Map iteration and Parallel branch on one) "
        "called AWS as the account itself. A thread keeps its creator's caller.",
    ),
    _BOOTSTRAP_INNER := Patch(
        owner=threading.Thread,
        name="_bootstrap_inner",
        replacement=_bootstrap_as_caller,
        kind=Kind.GAP,
        why="With Thread.start: the new thread runs as the caller its creator had.",
    ),
    _SUBMIT := Patch(
        owner=ThreadPoolExecutor,
        name="submit",
        replacement=_submit_as_submitters_caller,
        kind=Kind.GAP,
        why="A pool's workers are made by whoever submits first and then serve every submitter: "
        "each task runs as the caller that submitted it.",
    ),
)
