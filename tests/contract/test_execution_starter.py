"""The execution starter contract, written once, run against the fake and Step Functions.

start_saga starts the saga's execution named by the order id once the saga's first events
are stored, and starts it again for a delivery found recorded but maybe not started (a retry
after a crash between the two): the name, not the caller, keeps a second saga from starting.
What it answers decides the count: True is an order accepted, False a duplicate.

The expected answers are Step Functions' (API Reference, StartExecution: the same name and
input as an open execution succeeds; a different input, or a closed execution, is
ExecutionAlreadyExists; https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from lambdas.adapters.step_functions import SagaExecutions, StepFunctions
from lambdas.logic.ports import ExecutionStarter
from tests.contract.moto_machines import waiting_machine
from tests.fakes import FakeStarter


@dataclass
class Engine:
    starter: ExecutionStarter
    executions: Callable[[], list[str]]
    """The names of the executions started, one per execution."""
    end: Callable[[str], None]
    """End the execution of that name (it failed, or was stopped)."""


@pytest.fixture(params=["fake", "stepfunctions"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "fake":
        fake = FakeStarter()
        yield Engine(fake, lambda: list(fake.started), fake.end)
        return
    with waiting_machine() as (sfn, arn):

        def end(name: str) -> None:
            sfn.stop_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + f":{name}")

        def executions() -> list[str]:
            return [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]

        yield Engine(SagaExecutions(StepFunctions(sfn), arn), executions, end)


def test_starting_an_order_starts_one_execution_named_by_it(engine: Engine) -> None:
    assert engine.starter.start("order-1", "m-1") is True
    assert engine.starter.start("order-2", "m-2") is True
    assert sorted(engine.executions()) == ["order-1", "order-2"]


def test_another_delivery_of_an_order_whose_execution_runs_is_told_it_exists(engine: Engine) -> None:
    # a duplicate OrderCreated, delivered while the saga's first step runs: not a second order accepted
    engine.starter.start("order-1", "m-1")
    assert engine.starter.start("order-1", "m-2") is False
    assert engine.executions() == ["order-1"]


def test_the_same_delivery_again_while_its_execution_runs_is_the_start_it_repeats(engine: Engine) -> None:
    # SQS delivers a message again when the handler failed after starting: that attempt counted nothing
    engine.starter.start("order-1", "m-1")
    assert engine.starter.start("order-1", "m-1") is True
    assert engine.executions() == ["order-1"]


def test_starting_an_order_whose_execution_ended_says_it_exists_and_starts_nothing(engine: Engine) -> None:
    engine.starter.start("order-1", "m-1")
    engine.end("order-1")
    assert engine.starter.start("order-1", "m-1") is False
    assert engine.starter.start("order-1", "m-2") is False
    assert engine.executions() == ["order-1"]
