"""Each role's grants are what its code calls: derived from the calls, not from a list kept by hand.

One local cloud runs every path of the saga: completed, refused at each step, crashed at each
step (its own undo then finds nothing and writes a tombstone), parked and resumed twice, stopped
mid-step, rejected, poisoned, a step run twice, and a stream batch given up by both stream
consumers. The local cloud authorises each call as the caller's role and records it. Then:

- nothing was refused: every call the code makes is granted (the cloud fixture's check);
- every grant was used by some call: a grant no path needs is a permission the code does not use.

The only grants no local call can use are listed in NOT_CALLED_LOCALLY, each with why.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from harness.inprocess import InProcess
from infra import names
from lambdas import contract
from lambdas.domain.order import OrderCreated
from lambdas.logic.repository import SagaRepository
from localcloud.access.enforcement import AUTHORIZER
from tests.e2e.helpers import US_ADDRESS, event_store, execution_arn, order

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

NOT_CALLED_LOCALLY = {
    "xray:PutTraceSegments": "the X-Ray SDK sends traces to a daemon; none runs locally (tracing is off)",
    "xray:PutTelemetryRecords": "as above",
    "xray:GetSamplingRules": "Step Functions' own tracing, not emulated",
    "xray:GetSamplingTargets": "as above",
    "kms:Decrypt": "DynamoDB, SQS and CloudWatch Logs call KMS for the caller; the local cloud has no KMS in the path",
    "kms:Encrypt": "as above",
    "kms:GenerateDataKey": "as above",
    "kms:DescribeKey": "as above",
    "logs:CreateLogDelivery": "Step Functions sets up its log delivery with the machine's role; moto does not",
    "logs:GetLogDelivery": "as above",
    "logs:UpdateLogDelivery": "as above",
    "logs:DeleteLogDelivery": "as above",
    "logs:ListLogDeliveries": "as above",
    "logs:PutResourcePolicy": "as above",
    "logs:DescribeResourcePolicies": "as above",
    "logs:DescribeLogGroups": "as above",
}


NO_RESOURCE_LEVEL_PERMISSIONS = {
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "dynamodb:ListStreams",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
"""Actions the Service Authorization Reference lists with no resource types: only `*` grants them."""


def _matches(pattern: str, resource: str) -> bool:
    """IAM's wildcards in a Resource: `*` any run of characters, `?` one."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(body, resource) is not None


def _role_grants(cloud: InProcess, role_arn: str) -> list[tuple[str, list[str]]]:
    """(action, resources) of every Allow in the role's policies, as deployed (ARNs resolved)."""
    iam = cloud.client("iam")
    role = role_arn.rsplit("/", 1)[1]
    documents: list[Any] = []
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        documents.append(
            iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        )
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        documents.append(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    grants: list[tuple[str, list[str]]] = []
    for document in documents:
        loaded = json.loads(document) if isinstance(document, str) else document
        statements = loaded["Statement"] if isinstance(loaded["Statement"], list) else [loaded["Statement"]]
        for statement in statements:
            assert statement["Effect"] == "Allow", statement
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            grants.extend((action, resources) for action in actions)
    return grants


def _roles(cloud: InProcess) -> dict[str, str]:
    """role ARN -> what it runs (a function's handler name, or a state machine's output name)."""
    roles = {}
    for function in cloud.client("lambda").list_functions()["Functions"]:
        roles[function["Role"]] = function["Handler"].split(".")[2]
    sfn = cloud.client("stepfunctions")
    for output in (names.OUTPUT_STATE_MACHINE, names.OUTPUT_RESUME_STATE_MACHINE):
        roles[sfn.describe_state_machine(stateMachineArn=cloud.outputs[output])["roleArn"]] = output
    return roles


# --- the paths ----------------------------------------------------------------------------


def _saga(
    cloud: InProcess, order_id: str, *medications: Any, faults: dict[str, Any] | None = None, **extra: Any
) -> str:
    cloud.set_faults(faults or {})
    cloud.put_order(order(order_id, *medications, **extra))
    return cloud.wait_for_sagas([order_id], timeout=60)[order_id]


def _resume(cloud: InProcess, order_id: str, attempt: int) -> str:
    """What `saga resume` does: start the compensation machine for the order, wait for it to end."""
    sfn = cloud.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=cloud.outputs[names.OUTPUT_RESUME_STATE_MACHINE],
        name=f"{order_id}-resume-{attempt}",
        input=json.dumps({"order_id": order_id, "error": {"Error": "ResumedByOperator"}}),
    )
    deadline = time.monotonic() + 60
    while sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cloud.local.wait_until_idle()
    view = cloud.projection().get(order_id)
    assert view is not None
    return view.state.value


def _stopped_mid_step(cloud: InProcess) -> None:
    cloud.set_faults({"reserve_inventory": {"latency_ms": 1500, "latency": 1.0}})
    cloud.put_order(order("p-stopped", "med-2"))
    deadline = time.monotonic() + 20
    while (saga := cloud.projection().get("p-stopped")) is None or saga.state.value != "PENDING_INVENTORY":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cloud.client("stepfunctions").stop_execution(executionArn=execution_arn(cloud, "p-stopped"), error="Stopped")
    assert cloud.wait_for_sagas(["p-stopped"], timeout=60) == {"p-stopped": "FAILED"}
    time.sleep(1.6)  # the slow reservation wakes up, finds its saga moved on
    cloud.set_faults({})


def _reservation_made_by_an_attempt_that_died(cloud: InProcess) -> None:
    """A reservation whose step wrote it and died before recording it: the retry finds it made."""
    repository = SagaRepository(event_store(cloud), source="test")
    saga = repository.load("p-retried")
    saga.start(OrderCreated.model_validate(order("p-retried", "med-1")))
    repository.save(saga, causation_id="test")
    task = json.dumps({"order_id": "p-retried", "attempt": 1, "execution_id": "test"}).encode()
    lambda_ = cloud.client("lambda")
    functions = {f["Handler"]: f["FunctionName"] for f in lambda_.list_functions()["Functions"]}
    dynamodb = cloud.client("dynamodb")
    reservations = next(t for t in dynamodb.list_tables()["TableNames"] if "BusinessTablesReservations" in t)
    lines = json.dumps([{"medication_id": "med-1", "quantity": 1}], separators=(",", ":"))
    for step in ("create_prescription", "reserve_inventory"):
        if step == "reserve_inventory":  # what the attempt that died had written
            dynamodb.put_item(
                TableName=reservations,
                Item={
                    "reservation_id": {"S": "res-p-retried"},
                    "order_id": {"S": "p-retried"},
                    "status": {"S": "RESERVED"},
                    "lines": {"S": lines},
                },
            )
        response = lambda_.invoke(FunctionName=functions[names.handler_path(step)], Payload=task)
        assert "FunctionError" not in response, response["Payload"].read()


def _request(cloud: InProcess, source: str, detail_type: str, detail: dict[str, Any]) -> None:
    entry: PutEventsRequestEntryTypeDef = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
    cloud.client("events").put_events(Entries=[{**entry, "EventBusName": cloud.outputs[names.OUTPUT_EVENT_BUS]}])


def _cancel(cloud: InProcess, order_id: str) -> None:
    _request(cloud, "pharmacy.orders", "OrderCancellationRequested", {"order_id": order_id, "reason": "asked"})


def _cancelled_mid_step(cloud: InProcess) -> None:
    """A cancellation while Reserve Inventory runs: the execution is stopped, the saga compensated."""
    # 4 s: the cancellation must arrive while the step still runs, on a loaded CI machine too
    cloud.set_faults({"reserve_inventory": {"latency_ms": 4000, "latency": 1.0}})
    cloud.put_order(order("p-cancel", "med-2"))
    _wait_for_state(cloud, "p-cancel", "PENDING_INVENTORY")
    _cancel(cloud, "p-cancel")
    assert cloud.wait_for_sagas(["p-cancel"], timeout=60) == {"p-cancel": "CANCELLED"}
    time.sleep(4.1)  # the slow reservation wakes up, finds its saga moved on
    cloud.set_faults({})


def _cancelled_before_its_execution(cloud: InProcess) -> None:
    """A saga recorded whose execution never started (its starter died): the cancellation starts its
    compensations itself."""
    repository = SagaRepository(event_store(cloud), source="test")
    saga = repository.load("p-unstarted")
    saga.start(OrderCreated.model_validate(order("p-unstarted", "med-1")))
    repository.save(saga, causation_id="test")
    _cancel(cloud, "p-unstarted")
    assert cloud.wait_for_sagas(["p-unstarted"], timeout=60) == {"p-unstarted": "CANCELLED"}


def _wait_for_state(cloud: InProcess, order_id: str, state: str) -> None:
    deadline = time.monotonic() + 20
    while (saga := cloud.projection().get(order_id)) is None or saga.state.value != state:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _stream_batches_given_up(cloud: InProcess) -> None:
    """Both stream consumers fail on a saga's first batch until their retries run out (it goes to their
    failure queue); the saga's later events then find its row missing and the projector rebuilds it."""

    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError("the consumer is broken")

    paths = [names.handler_path(n) for n in (names.PROJECTOR, names.PUBLISHER)]
    cloud.set_faults({"reserve_inventory": {"latency_ms": 1000, "latency": 1.0}})
    for path in paths:
        cloud.local.runtime.replacements[path] = broken
    try:
        cloud.put_order(order("p-gap", "med-1"))
        deadline = time.monotonic() + 30
        while len({u.function for u in cloud.local.undelivered()}) < 2:
            assert time.monotonic() < deadline, cloud.local.undelivered()
            time.sleep(0.01)
    finally:
        for path in paths:
            del cloud.local.runtime.replacements[path]
    assert cloud.wait_for_sagas(["p-gap"], timeout=60) == {"p-gap": "COMPLETED"}
    cloud.set_faults({})


PATHS: list[tuple[str, Callable[[InProcess], None]]] = [
    ("completes", lambda c: _expect(_saga(c, "p-ok", "med-1", shipping_address=US_ADDRESS), "COMPLETED")),
    ("refused at the prescription", lambda c: _expect(_saga(c, "p-rx", "med-unknown"), "FAILED")),
    ("refused at the inventory", lambda c: _expect(_saga(c, "p-stock", "med-scarce"), "FAILED")),
    (
        "refused at the shipment",
        lambda c: _expect(_saga(c, "p-ship", "med-1", shipping_address={**US_ADDRESS, "country": "ZZ"}), "FAILED"),
    ),
    *[
        (
            f"crashed at {step}",
            lambda c, s=step: _expect(_saga(c, f"p-crash-{s}", "med-1", faults={s: {"permanent": 1.0}}), "FAILED"),
        )
        for step in ("create_prescription", "reserve_inventory", "initiate_shipment")
    ],
    ("rejected", lambda c: _expect(_saga(c, "p-invalid", {"medication_id": "med-1", "quantity": 0}), "REJECTED")),
    ("a reservation made by an attempt that died", _reservation_made_by_an_attempt_that_died),
    ("delivered twice", lambda c: _delivered_twice(c)),
    ("stopped mid-step", _stopped_mid_step),
    ("cancelled mid-step", _cancelled_mid_step),
    ("cancelled before its execution started", _cancelled_before_its_execution),
]


def _delivered_twice(cloud: InProcess) -> None:
    for _ in range(2):  # the second delivery is refused by the first events' condition, then reads the saga
        _expect(_saga(cloud, "p-twice", "med-1"), "COMPLETED")


def _expect(actual: str, expected: str) -> None:
    assert actual == expected


@pytest.mark.allow_errors("UnusableMessage", "BatchProcessingError", "RuntimeError")
@pytest.mark.allow_undelivered
def test_every_grant_of_every_role_is_used_by_its_code_and_every_call_is_granted(cloud: InProcess) -> None:
    # Given every path of the saga run on one cloud
    for _, path in PATHS:
        path(cloud)
    parked = {"initiate_shipment": {"permanent": 1.0}, "cancel_shipment": {"permanent": 1.0}}
    assert _saga(cloud, "p-parked", "med-1", faults=parked) == "COMPENSATION_FAILED"
    assert _resume(cloud, "p-parked", 1) == "COMPENSATION_FAILED", "still failing: parked again"
    cloud.set_faults({})
    assert _resume(cloud, "p-parked", 2) == "FAILED"
    cloud.client("events").put_events(
        Entries=[{"Source": contract.ORDER_SOURCE, "DetailType": contract.ORDER_DETAIL_TYPE, "Detail": "{}",
                  "EventBusName": cloud.outputs[names.OUTPUT_EVENT_BUS]}]
    )  # fmt: skip
    _stream_batches_given_up(cloud)
    cloud.local.wait_until_idle()

    # Then no call was refused: every call the code makes is granted
    assert not cloud.local.refusals(), [r.message for r in cloud.local.refusals()[:5]]
    # and every grant was used by at least one call
    _assert_every_grant_used(cloud)
    # and no grant reaches past its resources: "*" only for the actions that have no resource-level
    # permissions, KMS only on the stack's own key
    _assert_no_grant_reaches_past_its_resources(cloud)
    # and the batches given up were recorded in each consumer's failure queue (with its SendMessage)
    assert len(cloud.local.undelivered()) >= 2
    assert all(u.destination for u in cloud.local.undelivered()), cloud.local.undelivered()


@pytest.fixture
def verifying(tmp_path: Any) -> Any:
    from harness.assembly import synthesize
    from harness.inprocess import deployed
    from tests.verifying_stack import DEADLINE_MINUTES

    assembly = synthesize(
        "Verifying",
        fault_injection=False,
        context={"prescription_verification": "pharmacist", "verification_deadline_minutes": str(DEADLINE_MINUTES)},
    )
    with deployed(assembly) as target:
        yield target


def test_the_verification_grants_are_used_and_every_call_is_granted(verifying: InProcess) -> None:
    # Given a stack that waits for pharmacists, each answer and a cancellation while waiting
    cloud = verifying
    answers = {"p-verified": "PrescriptionVerified", "p-rejected": "PrescriptionRejected", "p-waiting": None}
    for order_id, answer in answers.items():
        cloud.put_order(order(order_id, "med-1"))
        _wait_for_state(cloud, order_id, "PENDING_VERIFICATION")
        time.sleep(0.3)  # the waiting task's function keeps its token
        if answer:
            detail = {"order_id": order_id, "pharmacist_id": "ph-1", "reason": "no"}
            _request(cloud, "pharmacy.prescriptions", answer, detail)
    _cancel(cloud, "p-waiting")
    _cancelled_before_its_execution(cloud)
    for decision in ("verified", "rejected"):
        _decided_before_the_task_began(cloud, decision)
    assert cloud.wait_for_sagas(list(answers), timeout=60) == {
        "p-verified": "COMPLETED",
        "p-rejected": "FAILED",
        "p-waiting": "CANCELLED",
    }
    cloud.local.wait_until_idle()
    # Then nothing was refused, and every grant of the roles issue 25 added was used
    assert not cloud.local.refusals(), [r.message for r in cloud.local.refusals()[:5]]
    _assert_every_grant_used(cloud, only={names.ORDER_REQUESTS, names.REQUEST_VERIFICATION})
    _assert_no_grant_reaches_past_its_resources(cloud)


def _decided_before_the_task_began(cloud: InProcess, decision: str) -> None:
    """A pharmacist's decision recorded in the instant before Verify Prescription's function ran: the
    function passes it on itself (to a token Step Functions no longer knows here: it answers InvalidToken)."""
    order_id = f"p-early-{decision}"
    repository = SagaRepository(event_store(cloud), source="test")
    saga = repository.load(order_id)
    saga.start(OrderCreated.model_validate(order(order_id, "med-1")), verification_required=True)
    saga.record_prescription_created(f"rx-{order_id}")
    saga.answer_verification(decision, "ph-1", datetime.now(UTC), "no")
    repository.save(saga, causation_id="test")
    task = {
        "order_id": order_id,
        "task_token": "a-token-of-an-execution-that-ended",
        "entered_at": datetime.now(UTC).isoformat(),
        "deadline_seconds": 3600,
    }
    lambda_ = cloud.client("lambda")
    functions = {f["Handler"]: f["FunctionName"] for f in lambda_.list_functions()["Functions"]}
    response = lambda_.invoke(
        FunctionName=functions[names.handler_path(names.REQUEST_VERIFICATION)], Payload=json.dumps(task).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()


def _assert_every_grant_used(cloud: InProcess, only: set[str] | None = None) -> None:
    calls: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for role, action, resource in AUTHORIZER.granted:
        calls[role].add((action, resource))
    unused = []
    for role, runs in sorted(_roles(cloud).items(), key=lambda item: item[1]):
        if only is not None and runs not in only:
            continue
        for action, resources in _role_grants(cloud, role):
            if action in NOT_CALLED_LOCALLY:
                continue
            if not any(a == action and any(_matches(p, r) for p in resources) for a, r in calls[role]):
                unused.append(f"{runs}: {action} on {resources}")
    assert not unused, "grants no path uses:\n" + "\n".join(unused)


def _assert_no_grant_reaches_past_its_resources(cloud: InProcess) -> None:
    [key] = cloud.client("kms").list_keys()["Keys"]
    for role, runs in _roles(cloud).items():
        for action, resources in _role_grants(cloud, role):
            if "*" in resources:
                assert action in NO_RESOURCE_LEVEL_PERMISSIONS, f"{runs}: {action} on *"
            if action.startswith("kms:"):
                assert resources == [key["KeyArn"]], f"{runs}: {action} on {resources}"
