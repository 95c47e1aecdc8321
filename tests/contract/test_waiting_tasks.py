"""The waiting tasks contract, written once, run against the fake and Step Functions (the local cloud).

A pharmacist's decision is passed on to the saga's waiting task with SendTaskSuccess or SendTaskFailure.
A token answers once: its task then waits no more, and a second answer, or an answer with a token Step
Functions never issued, is told so (TaskTimedOut, InvalidToken: API Reference, SendTaskSuccess,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html) and the
port answers False rather than raise: the saga has recorded the decision already.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from harness.inprocess import deployed
from lambdas.adapters.step_functions import WaitingTasks as StepFunctionsWaitingTasks
from lambdas.logic.ports import WaitingTasks
from localcloud.deploy import CloudAssembly
from tests.fakes import FakeWaitingTasks
from tests.verifying_stack import task_token, verifying_assembly, waiting

__all__ = ["verifying_assembly"]  # the fixture, used by name

_orders = itertools.count(1)


@dataclass
class Engine:
    tasks: WaitingTasks
    waiting: Callable[[], str]
    """A task that waits for its token: the token."""


@pytest.fixture(params=["fake", "stepfunctions"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "fake":
        fake = FakeWaitingTasks()

        def fake_waiting() -> str:
            token = f"token-{next(_orders)}"
            fake.waiting.add(token)
            return token

        yield Engine(fake, fake_waiting)
        return
    assembly: CloudAssembly = request.getfixturevalue("verifying_assembly")
    with deployed(assembly) as cloud:

        def saga_waiting() -> str:
            order_id = f"contract-{next(_orders)}"
            waiting(cloud, order_id)  # the saga's Verify Prescription waits, its token kept
            return task_token(cloud, order_id)

        yield Engine(StepFunctionsWaitingTasks(cloud.client("stepfunctions")), saga_waiting)


def test_a_waiting_task_answered_with_success_waits_no_more(engine: Engine) -> None:
    token = engine.waiting()
    assert engine.tasks.succeed(token, {"decision": "verified"}) is True
    assert engine.tasks.succeed(token, {"decision": "verified"}) is False


def test_a_waiting_task_failed_cannot_be_answered_again(engine: Engine) -> None:
    token = engine.waiting()
    assert engine.tasks.fail(token, "PharmacistRejected", "rejected by the pharmacist") is True
    assert engine.tasks.succeed(token, {"decision": "verified"}) is False
    assert engine.tasks.fail(token, "PharmacistRejected", "rejected by the pharmacist") is False


def test_a_token_no_task_was_given_answers_nothing(engine: Engine) -> None:
    engine.waiting()
    assert engine.tasks.succeed("a-token-never-issued", {"decision": "verified"}) is False
