"""The Step Functions adapter on a recording client: paging, and the API's errors as the ports' errors.

Expected values from the AWS Step Functions API Reference: GetExecutionHistory returns a
`nextToken` while more events remain (pages of at most 1,000, `maxResults`); StartExecution
answers `ExecutionAlreadyExists` for a name taken; DescribeExecution and GetExecutionHistory
answer `ExecutionDoesNotExist` for an execution that is not there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from lambdas.adapters.step_functions import (
    CompensationExecutions,
    SagaExecutions,
    StepFunctions,
    execution_arn,
)
from lambdas.domain.executions import Run, execution_name
from lambdas.logic.ports import ExecutionNameTaken, ExecutionNotFound

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:saga"
O_1 = execution_name("o-1", Run.SAGA)


def _played(fake: object) -> SFNClient:
    """A fake playing boto3's Step Functions client (only the calls the adapter makes)."""
    return cast("SFNClient", fake)


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class RecordingStepFunctions:
    """A Step Functions client holding executions by ARN, each with its history, paged by `maxResults`.

    Its executions all run: StartExecution with a running execution's name and input answers as
    the first time, with another input ExecutionAlreadyExists (API Reference, StartExecution)."""

    def __init__(self, histories: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.histories = histories or {}
        self.inputs: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def start_execution(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("StartExecution", params))
        arn = execution_arn(params["stateMachineArn"], params["name"])
        if arn in self.histories and self.inputs.get(arn) != params.get("input"):
            raise _error("ExecutionAlreadyExists", "StartExecution")
        self.histories.setdefault(arn, [])
        self.inputs[arn] = params.get("input", "{}")
        return {"executionArn": arn, "startDate": "2024-01-01T00:00:00Z"}

    def describe_execution(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("DescribeExecution", params))
        if params["executionArn"] not in self.histories:
            raise _error("ExecutionDoesNotExist", "DescribeExecution")
        return {"executionArn": params["executionArn"], "status": "RUNNING"}

    def get_execution_history(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("GetExecutionHistory", params))
        if params["executionArn"] not in self.histories:
            raise _error("ExecutionDoesNotExist", "GetExecutionHistory")
        events = self.histories[params["executionArn"]]
        start = int(params.get("nextToken", "0"))
        end = start + params.get("maxResults", 100)
        page: dict[str, Any] = {"events": events[start:end]}
        if end < len(events):
            page["nextToken"] = str(end)
        return page


def _events(count: int) -> list[dict[str, Any]]:
    return [{"id": n, "type": "PassStateEntered"} for n in range(1, count + 1)]


def test_an_execution_arn_is_its_machine_s_with_execution_for_state_machine_and_its_name() -> None:
    assert execution_arn(MACHINE, "o-1") == "arn:aws:states:us-east-1:123456789012:execution:saga:o-1"


def test_the_whole_history_is_read_page_by_page_a_thousand_events_a_page_oldest_first() -> None:
    arn = execution_arn(MACHINE, "long")
    client = RecordingStepFunctions({arn: _events(2500)})
    assert StepFunctions(_played(client)).history(arn) == _events(2500)
    pages = [params for name, params in client.calls if name == "GetExecutionHistory"]
    assert [p.get("nextToken") for p in pages] == [None, "1000", "2000"]
    assert {p["maxResults"] for p in pages} == {1000}


def test_a_short_history_is_one_request() -> None:
    arn = execution_arn(MACHINE, "short")
    client = RecordingStepFunctions({arn: _events(3)})
    assert StepFunctions(_played(client)).history(arn) == _events(3)
    assert len(client.calls) == 1


def test_the_history_of_an_execution_that_does_not_exist_is_execution_not_found() -> None:
    with pytest.raises(ExecutionNotFound):
        StepFunctions(_played(RecordingStepFunctions())).history(execution_arn(MACHINE, "never"))


def test_describing_an_execution_that_does_not_exist_is_none() -> None:
    client = RecordingStepFunctions({execution_arn(MACHINE, "o-1"): []})
    step_functions = StepFunctions(_played(client))
    assert step_functions.describe(execution_arn(MACHINE, "never")) is None
    assert dict(step_functions.describe(execution_arn(MACHINE, "o-1")) or {}) == {
        "executionArn": execution_arn(MACHINE, "o-1"),
        "status": "RUNNING",
    }


def test_starting_gives_the_execution_arn_and_sends_the_input_as_json() -> None:
    client = RecordingStepFunctions()
    arn = StepFunctions(_played(client)).start(
        MACHINE, O_1, {"order_id": "o-1", "error": {"Error": "ResumedByOperator"}}
    )
    assert arn == execution_arn(MACHINE, "o-1")
    [(_, params)] = client.calls
    assert params == {
        "stateMachineArn": MACHINE,
        "name": "o-1",
        "input": '{"order_id": "o-1", "error": {"Error": "ResumedByOperator"}}',
    }


def test_starting_a_name_taken_with_another_input_is_execution_name_taken() -> None:
    step_functions = StepFunctions(_played(RecordingStepFunctions()))
    first = step_functions.start(MACHINE, O_1, {"n": 1})
    assert step_functions.start(MACHINE, O_1, {"n": 1}) == first, "the same start, while it runs"
    with pytest.raises(ExecutionNameTaken):
        step_functions.start(MACHINE, O_1, {"n": 2})


def _start(step_functions: StepFunctions) -> object:
    return step_functions.start(MACHINE, O_1, {})


def _describe(step_functions: StepFunctions) -> object:
    return step_functions.describe(execution_arn(MACHINE, "o-1"))


def _history(step_functions: StepFunctions) -> object:
    return step_functions.history(execution_arn(MACHINE, "o-1"))


@pytest.mark.parametrize(
    ("call", "code"),
    [(_start, "ExecutionLimitExceeded"), (_describe, "InvalidArn"), (_history, "InvalidToken")],
)
def test_any_other_error_is_raised_as_it_came(call: Callable[[StepFunctions], object], code: str) -> None:
    class Refusing:
        def __getattr__(self, name: str) -> Any:
            def refuse(**_: Any) -> Any:
                raise _error(code, name)

            return refuse

    with pytest.raises(ClientError) as raised:
        call(StepFunctions(_played(Refusing())))
    assert raised.value.response["Error"]["Code"] == code


def test_a_saga_execution_is_named_after_its_order_and_its_input_names_the_delivering_message() -> None:
    # The message in the input is what makes another delivery's StartExecution differ in input,
    # which Step Functions refuses even while the execution runs (the same input it would answer
    # as a success).
    client = RecordingStepFunctions()
    sagas = SagaExecutions(StepFunctions(_played(client)), MACHINE)
    assert sagas.start("o-1", "m-1") is True
    assert sagas.start("o-1", "m-2") is False, "another delivery, while the execution runs"
    inputs = [json.loads(p["input"]) for _, p in client.calls]
    assert [i["order_id"] for i in inputs] == ["o-1", "o-1"]
    assert inputs[0] != inputs[1]
    assert {p["name"] for _, p in client.calls} == {"o-1"}


def test_an_unfinished_execution_s_compensations_start_once_under_the_order_s_compensation_name() -> None:
    client = RecordingStepFunctions()
    compensations = CompensationExecutions(StepFunctions(_played(client)), MACHINE)
    assert compensations.start("o-1") is True
    assert compensations.start("o-1") is True, "the same start while it runs: Step Functions answers as before"
    assert len(client.histories) == 1, "one execution"
    [(_, first), _] = client.calls
    assert first["name"] == execution_name("o-1", Run.COMPENSATION)
    assert json.loads(first["input"]) == {"order_id": "o-1", "error": {"Error": "ExecutionEndedUnfinished"}}
