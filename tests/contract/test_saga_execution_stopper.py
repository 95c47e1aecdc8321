"""The saga execution stopper contract, written once, run against the fake and Step Functions.

A cancellation stops the order's execution (named by the order id); an order whose execution has not
started yet has none to stop, and the caller starts its compensations instead. Step Functions answers
ExecutionDoesNotExist for an execution it does not know (API Reference, StopExecution:
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html) and the stopped
execution's status is ABORTED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from lambdas.adapters.step_functions import SagaExecutions, StepFunctions
from lambdas.logic.ports import SagaExecutionStopper
from tests.contract.moto_machines import waiting_machine
from tests.fakes import FakeSagaExecutions


@dataclass
class Engine:
    stopper: SagaExecutionStopper
    start: Callable[[str], None]
    running: Callable[[], list[str]]


@pytest.fixture(params=["fake", "stepfunctions"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "fake":
        fake = FakeSagaExecutions()
        yield Engine(fake, fake.running.add, lambda: sorted(fake.running))
        return
    with waiting_machine() as (sfn, arn):

        def start(order_id: str) -> None:
            sfn.start_execution(stateMachineArn=arn, name=order_id, input="{}")

        def running() -> list[str]:
            found = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
            return sorted(e["name"] for e in found)

        yield Engine(SagaExecutions(StepFunctions(sfn), arn), start, running)


def test_a_cancelled_orders_running_execution_is_stopped(engine: Engine) -> None:
    engine.start("o-1")
    engine.start("o-2")
    assert engine.stopper.stop("o-1") is True
    assert engine.running() == ["o-2"]


def test_an_order_whose_execution_has_not_started_has_none_to_stop(engine: Engine) -> None:
    engine.start("o-2")
    assert engine.stopper.stop("o-1") is False
    assert engine.running() == ["o-2"]
