"""The Step Functions adapter: start an execution by name, describe one, read its whole history.

The error codes callers branch on become the ports' errors (lambdas/logic/ports.py), as the
AWS Step Functions API Reference names them per action:

- StartExecution: `ExecutionAlreadyExists` ("If the execution is closed or if the input is
  different"; the same name and input as a running execution succeeds, with the same ARN)
  -> `ExecutionNameTaken`
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html);
- DescribeExecution: `ExecutionDoesNotExist` -> None
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html);
- GetExecutionHistory: `ExecutionDoesNotExist` -> `ExecutionNotFound`; read page by page with
  `nextToken`, at most 1,000 events a page
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html);
- SendTaskSuccess / SendTaskFailure: `TaskTimedOut` ("the task token has either expired or the task
  associated with the token has already been closed"), `InvalidToken`, `TaskDoesNotExist` -> False
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html);
- StopExecution: `ExecutionDoesNotExist` -> False
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html).

Every other error is raised as botocore raises it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.domain.executions import ExecutionName, Run, execution_name
from lambdas.logic.execution_outcome import ENDED_UNFINISHED, compensation_input
from lambdas.logic.ports import ExecutionNameTaken, ExecutionNotFound

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef, HistoryEventTypeDef

EXECUTION_ALREADY_EXISTS = "ExecutionAlreadyExists"
EXECUTION_DOES_NOT_EXIST = "ExecutionDoesNotExist"
TASK_NOT_WAITING = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
"""What SendTaskSuccess / SendTaskFailure answer for a token whose task waits no more."""
HISTORY_PAGE_SIZE = 1000
"""GetExecutionHistory's largest page (maxResults)."""


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of the execution `name` of a (Standard) state machine:
    `arn:…:stateMachine:M` -> `arn:…:execution:M:name`."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class StepFunctions:
    """The Step Functions calls of the functions, the CLI and the console, on one client."""

    def __init__(self, sfn_client: SFNClient) -> None:
        self._client = sfn_client

    def start(self, state_machine_arn: str, name: ExecutionName, execution_input: Mapping[str, Any]) -> str:
        """Start the execution `name` with `execution_input` (as JSON); its ARN.

        ExecutionNameTaken when the machine has an execution of that name already, unless it is
        running with the same input: Step Functions then answers as it did the first time.
        """
        try:
            started = self._client.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(dict(execution_input))
            )
        except ClientError as error:
            if _code(error) == EXECUTION_ALREADY_EXISTS:
                raise ExecutionNameTaken(f"{state_machine_arn} has an execution named {name}") from error
            raise
        return str(started["executionArn"])

    def describe(self, execution_arn: str) -> DescribeExecutionOutputTypeDef | None:
        """DescribeExecution's answer (status, input, dates, ...); None when there is no such execution."""
        try:
            found = self._client.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            if _code(error) == EXECUTION_DOES_NOT_EXIST:
                return None
            raise
        return found

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        """Stop the execution with `error` and `cause`; False when there is no such execution."""
        try:
            self._client.stop_execution(executionArn=execution_arn, error=error, cause=cause)
        except ClientError as error_answer:
            if _code(error_answer) == EXECUTION_DOES_NOT_EXIST:
                return False
            raise
        return True

    def history(self, execution_arn: str) -> list[HistoryEventTypeDef]:
        """Every event of the execution's history, oldest first, read page by page.
        ExecutionNotFound when there is no such execution."""
        events: list[HistoryEventTypeDef] = []
        page: dict[str, Any] = {}
        try:
            while True:
                answer = self._client.get_execution_history(
                    executionArn=execution_arn, maxResults=HISTORY_PAGE_SIZE, **page
                )
                events.extend(answer["events"])
                if not answer.get("nextToken"):
                    return events
                page = {"nextToken": answer["nextToken"]}
        except ClientError as error:
            if _code(error) == EXECUTION_DOES_NOT_EXIST:
                raise ExecutionNotFound(f"no execution {execution_arn}") from error
            raise


class WaitingTasks:
    """The tasks waiting for a token (the saga's pharmacist verification): answered, or found closed."""

    def __init__(self, sfn_client: SFNClient) -> None:
        self._client = sfn_client

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        return self._answered(lambda: self._client.send_task_success(taskToken=token, output=json.dumps(dict(output))))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._answered(lambda: self._client.send_task_failure(taskToken=token, error=error, cause=cause))

    @staticmethod
    def _answered(call: Any) -> bool:
        try:
            call()
        except ClientError as error:
            if _code(error) in TASK_NOT_WAITING:
                return False  # it timed out, or was answered or stopped already
            raise
        return True


class SagaExecutions:
    """The saga state machine's executions, one per order, named after it (start_saga's ExecutionStarter).

    The input names the message the execution was started for as well as the order: Step
    Functions answers a StartExecution with a running execution's name and input as if it had
    started it, so with the order alone a second delivery during the first step would be
    "started" (counted in OrdersAccepted, not DuplicateOrders). With the message in the input, another
    delivery's call differs in input and is refused; the same message's retry is answered as
    the start it repeats.
    """

    def __init__(self, step_functions: StepFunctions, state_machine_arn: str) -> None:
        self._step_functions = step_functions
        self.state_machine_arn = state_machine_arn

    def start(self, order_id: str, message_id: str) -> bool:
        """Start the order's execution for this message; False when it was started for another or ended."""
        try:
            self._step_functions.start(
                self.state_machine_arn, execution_name(order_id, Run.SAGA), saga_input(order_id, message_id)
            )
        except ExecutionNameTaken:
            return False
        return True

    def stop(self, order_id: str) -> bool:
        """Stop the order's execution (a cancellation); False when there is none (not started yet).
        Its end, ABORTED, has the saga's remaining compensations run (the ExecutionsEndedUnfinished rule)."""
        return self._step_functions.stop(
            execution_arn(self.state_machine_arn, execution_name(order_id, Run.SAGA)),
            error="OrderCancellationRequested",
            cause="the order was cancelled; the reason is kept with the saga",
        )


def saga_input(order_id: str, message_id: str) -> dict[str, str]:
    """The saga machine's input: the order (its tasks read `$.order_id`) and the message it started for."""
    return {"order_id": order_id, "started_for_message": message_id}


class CompensationExecutions:
    """The compensation machine's executions for executions that ended unfinished, one per order
    (record_execution_outcome's CompensationStarter)."""

    def __init__(self, step_functions: StepFunctions, state_machine_arn: str) -> None:
        self._step_functions = step_functions
        self.state_machine_arn = state_machine_arn

    def start(self, order_id: str) -> bool:
        """Start the order's compensations; False when they were started before and ended (while
        they run, Step Functions answers the same start as it did the first time: True)."""
        try:
            self._step_functions.start(
                self.state_machine_arn,
                execution_name(order_id, Run.COMPENSATION),
                compensation_input(order_id, ENDED_UNFINISHED),
            )
        except ExecutionNameTaken:
            return False
        return True
