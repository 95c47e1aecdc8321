"""The saga's Step Functions state machine (Standard, JSONPath).

It reads like the business process: three steps, each registered next to where its
failure leads, and the compensations chained in reverse order. A business refusal
compensates the steps before it; any other error (after retries) also undoes the step
itself, which may have done its work before it crashed (undoing what never happened is
a no-op). A compensation that still fails after its retries parks the saga.

With pharmacist verification on (infra/verification.py), Verify Prescription follows Create
Prescription: a task that waits (`.waitForTaskToken`) until the saga passes a pharmacist's decision
on, or its deadline passes; a rejection or no answer undoes the prescription and the order.

A second, small state machine resumes a parked saga: it records the resumption, then
enters the same compensation chain at the first compensation still to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import nag, names
from infra.security import XRAY_WRITE, ManagedRole
from infra.verification import PharmacistVerification
from lambdas.domain import errors
from lambdas.domain.states import VERIFY_PRESCRIPTION, Compensation, Step

LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
"""What Step Functions calls with the machine's role to deliver its execution logs."""

STEP_RETRY: dict[str, Any] = {
    "errors": [e for e in errors.TRANSIENT_ERRORS if e != errors.PharmacyUnavailable.__name__],
    "interval": Duration.seconds(1),
    "max_attempts": 3,
    "backoff_rate": 2.0,
    "jitter_strategy": sfn.JitterType.FULL,
}
"""Transient errors only: a business refusal or a bug is not cured by trying again."""

PHARMACY_RETRY: dict[str, Any] = {
    "errors": [errors.PharmacyUnavailable.__name__],
    "interval": Duration.seconds(2),
    "max_attempts": 5,
    "backoff_rate": 2.0,
    "max_delay": Duration.seconds(20),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""The pharmacy's API unavailable (5xx, 408, 429, no answer): a pharmacy's outage or rate limit lasts
longer than a table's conflict, so a step waits for it up to 2, 4, 8, 16, then 20 s (about 50 s in all,
plus the attempts) before it gives up and the saga is compensated (alarm PharmacyStepsGaveUp)."""

COMPENSATION_RETRY: dict[str, Any] = {
    "errors": [errors.ALL_ERRORS],
    "interval": Duration.seconds(2),
    "max_attempts": 6,
    "backoff_rate": 2.0,
    "max_delay": Duration.seconds(60),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""Compensations must get through: every error is retried, longer, before the saga is parked."""
TASK_TIMEOUT = Duration.minutes(1)
"""How long a task state waits for its invocation (its TimeoutSeconds); the function's own timeout
is infra/functions.py FUNCTION_TIMEOUT."""
EXECUTION_TIMEOUT = Duration.minutes(15)
"""The saga's deadline: an execution still running then has its remaining compensations run by the
compensation state machine (the ExecutionsEndedUnfinished rule)."""


def worst_case_seconds(retry: dict[str, Any]) -> float:
    """The longest one task can take with `retry`: every attempt times out, every backoff is its longest."""
    attempts = int(retry["max_attempts"]) + 1
    interval, rate = float(retry["interval"].to_seconds()), float(retry["backoff_rate"])
    cap = float(retry["max_delay"].to_seconds()) if "max_delay" in retry else float("inf")
    waits = sum(min(cap, interval * rate**n) for n in range(attempts - 1))
    return attempts * float(TASK_TIMEOUT.to_seconds()) + waits


RESUME_TIMEOUT = Duration.seconds(
    round(
        worst_case_seconds(STEP_RETRY)  # Resume Saga
        + len(Compensation) * worst_case_seconds(COMPENSATION_RETRY)  # the whole compensation chain
        + worst_case_seconds(COMPENSATION_RETRY)  # Record Compensation Failure
        + 60  # state transitions
    )
)
"""The compensation state machine runs until everything is undone or the saga is parked: its timeout is
longer than its longest path, so it never ends a saga halfway (it would stay COMPENSATING)."""

RESUME_SAGA_STATE = "Resume Saga"
NEXT_COMPENSATION = "Next Compensation"
SAGA_FAILED = "Saga Failed"
SAGA_UNDONE = "Saga Undone"
NOTHING_TO_RESUME = "Nothing To Resume"
COMPENSATION_FAILED = "Compensation Failed"
RECORD_COMPENSATION_FAILURE_STATE = "Record Compensation Failure"

STEP_RESULT: dict[Step, str] = {
    Step.CREATE_PRESCRIPTION: "$.prescription",
    Step.RESERVE_INVENTORY: "$.reservation",
    Step.INITIATE_SHIPMENT: "$.shipment",
}

BUSINESS_FAILURE: dict[Step, str] = {
    Step.CREATE_PRESCRIPTION: errors.PRESCRIPTION_FAILED,
    Step.RESERVE_INVENTORY: errors.INVENTORY_RESERVATION_FAILED,
    Step.INITIATE_SHIPMENT: errors.SHIPMENT_INITIATION_FAILED,
}


def _payload(error_path: str | None) -> sfn.TaskInput:
    """Tasks get ids and the attempt number only: the order itself stays in the event store."""
    payload: dict[str, Any] = {
        "order_id": sfn.JsonPath.string_at("$.order_id"),
        "attempt": sfn.JsonPath.number_at("$$.State.RetryCount"),
        "execution_id": sfn.JsonPath.string_at("$$.Execution.Id"),
    }
    if error_path:
        payload["error"] = sfn.JsonPath.object_at(error_path)
    return sfn.TaskInput.from_object(payload)


@dataclass
class _Compensations:
    """The compensation chain of one state machine, entered at any of its compensations."""

    entry: dict[Compensation, tasks.LambdaInvoke]
    park: tasks.LambdaInvoke
    """Record Compensation Failure: parks the saga as COMPENSATION_FAILED."""


class _Builder:
    """Builds tasks in one scope (state names are unique per state machine, ids per scope)."""

    def __init__(self, scope: Construct, functions: Mapping[str, lambda_.IFunction]) -> None:
        self.scope = scope
        self.functions = functions
        self.invoked: set[str] = set()
        """The functions this scope's tasks invoke: what its state machine's role may invoke."""

    def task(self, state_name: str, function: str, *, error_path: str | None, result_path: str) -> tasks.LambdaInvoke:
        self.invoked.add(function)
        return tasks.LambdaInvoke(
            self.scope,
            state_name,
            lambda_function=self.functions[function],
            payload=_payload(error_path),
            result_path=result_path,
            payload_response_only=True,
            retry_on_service_exceptions=False,
            task_timeout=sfn.Timeout.duration(TASK_TIMEOUT),
        )

    def step(self, step: Step, *, refused: sfn.IChainable, crashed: sfn.IChainable) -> tasks.LambdaInvoke:
        task = self.task(step.console_name, step.value, error_path=None, result_path=STEP_RESULT[step])
        task.add_retry(**STEP_RETRY)
        task.add_retry(**PHARMACY_RETRY)
        task.add_catch(refused, errors=[BUSINESS_FAILURE[step]], result_path="$.error")
        task.add_catch(crashed, errors=[errors.ALL_ERRORS], result_path="$.error")
        return task

    def verification(self, deadline: Duration, *, undo: sfn.IChainable) -> tasks.LambdaInvoke:
        """Verify Prescription: its function keeps the task's token and returns; the task waits for the
        saga to pass the pharmacist's decision on (SendTaskSuccess, or SendTaskFailure PharmacistRejected)
        until `deadline` (States.Timeout). Anything but a verification undoes the prescription."""
        self.invoked.add(names.REQUEST_VERIFICATION)
        task = tasks.LambdaInvoke(
            self.scope,
            VERIFY_PRESCRIPTION,
            lambda_function=self.functions[names.REQUEST_VERIFICATION],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "order_id": sfn.JsonPath.string_at("$.order_id"),
                    "attempt": sfn.JsonPath.number_at("$$.State.RetryCount"),
                    "execution_id": sfn.JsonPath.string_at("$$.Execution.Id"),
                    "task_token": sfn.JsonPath.task_token,
                    "entered_at": sfn.JsonPath.string_at("$$.State.EnteredTime"),
                    "deadline_seconds": int(deadline.to_seconds()),
                }
            ),
            result_path="$.verification",
            retry_on_service_exceptions=False,
            task_timeout=sfn.Timeout.duration(deadline),
        )
        task.add_retry(**STEP_RETRY)
        task.add_catch(undo, errors=[errors.PHARMACIST_REJECTED, *errors.VERIFICATION_TIMEOUTS], result_path="$.error")
        task.add_catch(undo, errors=[errors.ALL_ERRORS], result_path="$.error")
        return task

    def compensations(self, undone: sfn.IChainable | None = None) -> _Compensations:
        """(Cancel Shipment ->) Release Inventory -> Cancel Prescription -> Cancel Order -> `undone`; any
        failing after its retries -> Record Compensation Failure -> Compensation Failed.

        `undone` is where the chain ends once everything is undone: by default Saga Failed (the saga's
        own execution fails with its order); the compensation machine ends in success instead."""
        saga_failed = undone or sfn.Fail(
            self.scope,
            SAGA_FAILED,
            error="OrderFulfillmentFailed",
            cause="The order failed; its completed steps were undone",
        )
        park = self.task(
            RECORD_COMPENSATION_FAILURE_STATE,
            names.RECORD_COMPENSATION_FAILURE,
            error_path="$.compensation_error",
            result_path=sfn.JsonPath.DISCARD,
        )
        park.add_retry(**COMPENSATION_RETRY)
        compensation_failed = sfn.Fail(
            self.scope,
            COMPENSATION_FAILED,
            error="CompensationFailed",
            cause="A compensation kept failing; the saga is parked",
        )
        park.add_catch(compensation_failed, errors=[errors.ALL_ERRORS], result_path="$.park_error")
        park.next(compensation_failed)

        cancel_order = self._compensation(Compensation.CANCEL_ORDER, park)
        cancel_order.next(saga_failed)
        cancel_prescription = self._compensation(Compensation.CANCEL_PRESCRIPTION, park)
        cancel_prescription.next(cancel_order)
        release_inventory = self._compensation(Compensation.RELEASE_INVENTORY, park)
        release_inventory.next(cancel_prescription)
        cancel_shipment = self._compensation(Compensation.CANCEL_SHIPMENT, park)
        cancel_shipment.next(release_inventory)
        return _Compensations(
            {
                Compensation.CANCEL_SHIPMENT: cancel_shipment,
                Compensation.RELEASE_INVENTORY: release_inventory,
                Compensation.CANCEL_PRESCRIPTION: cancel_prescription,
                Compensation.CANCEL_ORDER: cancel_order,
            },
            park,
        )

    def _compensation(self, compensation: Compensation, park: sfn.IChainable) -> tasks.LambdaInvoke:
        # A compensation's result is not needed downstream: keep the input (and its $.error).
        task = self.task(
            compensation.console_name, compensation.value, error_path="$.error", result_path=sfn.JsonPath.DISCARD
        )
        task.add_retry(**COMPENSATION_RETRY)
        task.add_catch(park, errors=[errors.ALL_ERRORS], result_path="$.compensation_error")
        return task


class SagaWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        functions: Mapping[str, lambda_.IFunction],
        key: kms.IKey,
        verification: PharmacistVerification | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions
        build = _Builder(self, functions)

        # Compensations first: the steps' Catch clauses point into them.
        undo = build.compensations().entry
        cancel_shipment = undo[Compensation.CANCEL_SHIPMENT]
        release_inventory = undo[Compensation.RELEASE_INVENTORY]
        cancel_prescription = undo[Compensation.CANCEL_PRESCRIPTION]
        cancel_order = undo[Compensation.CANCEL_ORDER]

        # The steps: on a business refusal, undo what came before; on any other error, also this step.
        create_prescription = build.step(Step.CREATE_PRESCRIPTION, refused=cancel_order, crashed=cancel_prescription)
        reserve_inventory = build.step(Step.RESERVE_INVENTORY, refused=cancel_prescription, crashed=release_inventory)
        initiate_shipment = build.step(Step.INITIATE_SHIPMENT, refused=release_inventory, crashed=cancel_shipment)

        timeout = EXECUTION_TIMEOUT
        if verification is None:
            definition = create_prescription.next(reserve_inventory).next(initiate_shipment)
        else:
            verify = build.verification(verification.deadline, undo=cancel_prescription)
            definition = create_prescription.next(verify).next(reserve_inventory).next(initiate_shipment)
            timeout = EXECUTION_TIMEOUT.plus(verification.deadline)  # the wait comes on top of the steps
        self.state_machine = self._machine(
            "StateMachine",
            definition,
            key,
            "Order fulfillment saga: prescription, inventory, shipment, compensated in reverse",
            build.invoked,
            timeout=timeout,
        )

        # Resuming a parked saga: record it, then run what remains of the same chain.
        resume_scope = Construct(self, "Resume")
        resume_build = _Builder(resume_scope, functions)
        # Its executions succeed when everything is undone: a failed one is a saga parked again.
        undone = sfn.Succeed(resume_scope, SAGA_UNDONE, comment="Every compensation still to do was done")
        resume_compensations = resume_build.compensations(undone)
        resume_undo = resume_compensations.entry
        resume = resume_build.task(RESUME_SAGA_STATE, names.RESUME_SAGA, error_path=None, result_path="$.resume")
        resume.add_retry(**STEP_RETRY)
        # A saga with nothing to resume (it ended already, or runs on its own execution, or there is no
        # such saga) is left as it is; any other failure to start parks the saga again, with an
        # alert: it is never left COMPENSATING.
        nothing = sfn.Succeed(resume_scope, NOTHING_TO_RESUME, comment="The saga was not one to resume")
        resume.add_catch(
            nothing, errors=[errors.ILLEGAL_TRANSITION, errors.SAGA_NOT_FOUND], result_path="$.resume_error"
        )
        resume.add_catch(resume_compensations.park, errors=[errors.ALL_ERRORS], result_path="$.compensation_error")
        next_compensation = sfn.Choice(resume_scope, NEXT_COMPENSATION)
        for compensation in (
            Compensation.CANCEL_SHIPMENT,
            Compensation.RELEASE_INVENTORY,
            Compensation.CANCEL_PRESCRIPTION,
        ):
            next_compensation.when(
                sfn.Condition.string_equals("$.resume.next", compensation.value), resume_undo[compensation]
            )
        next_compensation.otherwise(resume_undo[Compensation.CANCEL_ORDER])
        self.resume_state_machine = self._machine(
            "ResumeStateMachine",
            resume.next(next_compensation),
            key,
            "Resumes a parked order fulfillment saga: runs its remaining compensations",
            resume_build.invoked,
            timeout=RESUME_TIMEOUT,
        )

    def _machine(
        self,
        construct_id: str,
        definition: sfn.IChainable,
        key: kms.IKey,
        comment: str,
        invokes: set[str],
        timeout: Duration = EXECUTION_TIMEOUT,
    ) -> sfn.StateMachine:
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            # AWS's advice: under /aws/vendedlogs/, so Step Functions does not fill the account's
            # 5,120-character CloudWatch Logs resource policy (Step Functions guide, "bp-cwl").
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-{construct_id}",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The grants CDK would write inline, in the role's managed policy: its task functions,
        # log delivery and X-Ray.
        access = ManagedRole(self, f"{construct_id}Access", service="states.amazonaws.com", description=comment)
        for name in sorted(invokes):
            arn = self._functions[name].function_arn
            access.permit(["lambda:InvokeFunction"], [arn, f"{arn}:*"])
            nag.acknowledge(access.policy, nag.wildcard_finding(self._functions[name]), nag.FUNCTION_VERSIONS)
        access.permit(LOG_DELIVERY_ACTIONS, ["*"])
        access.permit([*XRAY_WRITE, "xray:GetSamplingRules", "xray:GetSamplingTargets"], ["*"])
        nag.acknowledge(access.policy, nag.wildcard_finding(), f"{nag.XRAY} {nag.LOG_DELIVERY}")
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment=comment,
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ERROR, include_execution_data=False),
            role=access.role,
        )
        machine.node.add_dependency(access.policy)
        nag.acknowledge(machine, "AwsSolutions-SF1", nag.STEP_FUNCTIONS_LOG_LEVEL)
        return machine
