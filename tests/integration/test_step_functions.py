"""The Step Functions adapter against moto's Step Functions, running tiny state machines.

Expected behaviour from the AWS Step Functions API Reference (StartExecution): the same name
and input as a running execution succeeds with the same execution; a different input, or any
input once the execution is closed, is `ExecutionAlreadyExists`. DescribeExecution and
GetExecutionHistory answer `ExecutionDoesNotExist` for an execution that is not there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.step_functions import CompensationExecutions, SagaExecutions, StepFunctions, execution_arn
from lambdas.domain.executions import Run, execution_name
from lambdas.logic.ports import ExecutionNameTaken, ExecutionNotFound

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

O_1 = execution_name("o-1", Run.SAGA)

ROLE = "arn:aws:iam::123456789012:role/machine"
PASS_THEN_SUCCEED = {
    "StartAt": "Step",
    "States": {"Step": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Succeed"}},
}
WAITS = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}


@pytest.fixture
def sfn() -> Iterator[SFNClient]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def _machine(sfn: SFNClient, name: str, definition: dict[str, Any]) -> str:
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def _finished(step_functions: StepFunctions, arn: str) -> DescribeExecutionOutputTypeDef:
    deadline = time.monotonic() + 10
    while (found := step_functions.describe(arn)) is not None and found["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)
    assert found is not None
    return found


def test_a_started_execution_runs_with_its_input_and_its_whole_history_reads_back_oldest_first(sfn: SFNClient) -> None:
    machine = _machine(sfn, "passes", PASS_THEN_SUCCEED)
    step_functions = StepFunctions(sfn)
    arn = step_functions.start(machine, O_1, {"order_id": "o-1"})
    assert arn == execution_arn(machine, "o-1")
    described = _finished(step_functions, arn)
    assert (described["status"], json.loads(described["input"])) == ("SUCCEEDED", {"order_id": "o-1"})
    history = step_functions.history(arn)
    assert [e["type"] for e in history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_an_execution_that_does_not_exist_describes_as_none_and_has_no_history(sfn: SFNClient) -> None:
    never = execution_arn(_machine(sfn, "passes", PASS_THEN_SUCCEED), "never-started")
    step_functions = StepFunctions(sfn)
    assert step_functions.describe(never) is None
    with pytest.raises(ExecutionNotFound):
        step_functions.history(never)


def test_a_running_execution_started_again_with_its_input_is_the_same_execution(sfn: SFNClient) -> None:
    machine = _machine(sfn, "waits", WAITS)
    step_functions = StepFunctions(sfn)
    first = step_functions.start(machine, O_1, {"order_id": "o-1"})
    try:
        assert step_functions.start(machine, O_1, {"order_id": "o-1"}) == first
        with pytest.raises(ExecutionNameTaken):
            step_functions.start(machine, O_1, {"order_id": "o-2"})
    finally:
        sfn.stop_execution(executionArn=first)


def test_a_closed_execution_s_name_is_taken_whatever_the_input(sfn: SFNClient) -> None:
    machine = _machine(sfn, "passes", PASS_THEN_SUCCEED)
    step_functions = StepFunctions(sfn)
    _finished(step_functions, step_functions.start(machine, O_1, {"order_id": "o-1"}))
    with pytest.raises(ExecutionNameTaken):
        step_functions.start(machine, O_1, {"order_id": "o-1"})


def test_a_saga_and_its_compensations_each_start_once_per_order(sfn: SFNClient) -> None:
    step_functions = StepFunctions(sfn)
    sagas = SagaExecutions(step_functions, _machine(sfn, "saga", PASS_THEN_SUCCEED))
    compensations = CompensationExecutions(step_functions, _machine(sfn, "compensations", PASS_THEN_SUCCEED))
    assert [sagas.start("o-1", "m-1"), compensations.start("o-1")] == [True, True]
    for arn in (
        execution_arn(sagas.state_machine_arn, "o-1"),
        execution_arn(compensations.state_machine_arn, execution_name("o-1", Run.COMPENSATION)),
    ):
        _finished(step_functions, arn)
    assert [sagas.start("o-1", "m-1"), compensations.start("o-1")] == [False, False]
    described = step_functions.describe(
        execution_arn(compensations.state_machine_arn, execution_name("o-1", Run.COMPENSATION))
    )
    assert described is not None
    assert json.loads(described["input"]) == {"order_id": "o-1", "error": {"Error": "ExecutionEndedUnfinished"}}
