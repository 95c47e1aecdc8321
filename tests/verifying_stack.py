"""A stack deployed with `prescription_verification=pharmacist` for the CLI's and the console's tests, and a saga
waited for until it waits for a pharmacist (as tests/e2e/test_verification.py deploys it: one synthesis)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.assembly import synthesize
from harness.inprocess import InProcess, deployed
from harness.waiting import poll
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from localcloud.deploy import CloudAssembly
from tests.e2e.helpers import history, order

STACK = "Verifying"
DEADLINE_MINUTES = 300
"""18 s at the local cloud's default time scale (0.001): long enough for a browser test's clicks on a
loaded CI machine (7.2 s was not), short enough for the test that lets it pass."""


@pytest.fixture(scope="module")
def verifying_assembly() -> CloudAssembly:
    return synthesize(
        STACK,
        fault_injection=False,
        context={"prescription_verification": "pharmacist", "verification_deadline_minutes": str(DEADLINE_MINUTES)},
    )


@pytest.fixture
def verifying(verifying_assembly: CloudAssembly) -> Iterator[InProcess]:
    with deployed(verifying_assembly) as target:
        yield target
        target.local.wait_until_idle(timeout=30)
        assert not target.local.refusals(), [r.message for r in target.local.refusals()[:5]]
        assert not target.unexpected_errors(), target.unexpected_errors()


def state_of(cloud: InProcess, order_id: str) -> SagaState | None:
    found = cloud.projection().get(order_id)
    return None if found is None else found.state


def wait_for_state(cloud: InProcess, order_id: str, state: SagaState, timeout: float = 20) -> None:
    poll(lambda: True if state_of(cloud, order_id) is state else None, timeout, pause=lambda: 0.05)
    assert state_of(cloud, order_id) is state


def waiting(cloud: InProcess, order_id: str) -> None:
    """An order put, and waited for until its saga waits for a pharmacist with its deadline recorded."""
    cloud.put_order(order(order_id, "med-1"))
    wait_for_state(cloud, order_id, SagaState.PENDING_VERIFICATION)
    requested = ev.PrescriptionVerificationRequested.TYPE_KEY
    poll(lambda: True if any(e.type == requested for e in history(cloud, order_id)) else None, 10)


def task_token(cloud: InProcess, order_id: str) -> str:
    """The waiting task's token, from the table the stack keeps it in (what must never be shown)."""
    pages = cloud.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=cloud.stack)
    resources = [r for page in pages for r in page["StackResourceSummaries"]]
    [table] = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::DynamoDB::Table" and r["LogicalResourceId"].startswith("VerificationTokens")
    ]
    item = cloud.client("dynamodb").get_item(TableName=table, Key={"order_id": {"S": order_id}}, ConsistentRead=True)
    return str(item["Item"]["task_token"]["S"])
