"""The OrderFulfillment stack: composes the constructs and exports the public outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import nag, names
from infra.functions import START_TIMEOUT, Functions
from infra.monitoring import Monitoring
from infra.order_events import OrderEvents
from infra.pharmacy import PharmacyApi
from infra.saga_workflow import SagaWorkflow
from infra.security import DataKey
from infra.tables import BusinessTables, EventStore, verification_tokens
from infra.verification import PharmacistVerification
from lambdas import contract

TASK_ANSWERS = ["states:SendTaskSuccess", "states:SendTaskFailure"]


class FaultInjectionNotAllowed(ValueError):
    """Fault injection was requested for a production stack."""


class OrderFulfillmentStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        fault_injection: bool = False,
        production: bool = False,
        order_producers: Sequence[str] = (),
        pharmacy: PharmacyApi | None = None,
        verification: PharmacistVerification | None = None,
        verification_producers: Sequence[str] = (),
        domain_events_queue: bool = False,
        **kwargs: Any,
    ) -> None:
        if fault_injection and production:
            raise FaultInjectionNotAllowed("fault injection cannot be enabled on a production stack")
        super().__init__(scope, construct_id, **kwargs)

        key = DataKey(self, "DataKey").key
        store = EventStore(self, "EventStore", key)
        business = BusinessTables(self, "BusinessTables", key)
        order_events = OrderEvents(
            self,
            "OrderEvents",
            key,
            # AWS's advice for a queue that feeds a function: six times the function's timeout.
            start_visibility=Duration.seconds(6 * START_TIMEOUT.to_seconds()),
            producers=order_producers,
            verification_producers=verification_producers,
            domain_events_queue=domain_events_queue,
        )
        task_tokens = None if verification is None else verification_tokens(self, "VerificationTokens", key)

        fault_parameter = None
        if fault_injection:
            fault_parameter = ssm.StringParameter(
                self,
                "FaultInjectionPlan",
                parameter_name=f"/{self.stack_name}/fault-injection-plan",
                description="Fault injection plan (JSON) for chaos tests; this stack was synthesized with it enabled",
                string_value=json.dumps({}),
            )
            CfnOutput(self, names.OUTPUT_FAULT_INJECTION_PARAMETER, value=fault_parameter.parameter_name)

        functions = Functions(
            self,
            "Functions",
            key=key,
            store=store,
            business=business,
            order_events=order_events,
            fault_parameter=fault_parameter,
            pharmacy=pharmacy,
            task_tokens=task_tokens,
        )
        order_events.only_published_by(functions.roles[names.PUBLISHER].role)
        workflow = SagaWorkflow(self, "Saga", functions.functions, key, verification)
        state_machine = workflow.state_machine
        self._answer_and_stop(functions, state_machine, workflow.resume_state_machine, verification is not None)

        start_saga = functions.functions[names.START_SAGA]
        start_saga.add_environment(contract.STATE_MACHINE_ARN, state_machine.state_machine_arn)
        functions.roles[names.START_SAGA].permit(["states:StartExecution"], [state_machine.state_machine_arn])

        # No saga stays pending forever: an execution that ends unfinished gets its saga compensated.
        compensator = workflow.resume_state_machine
        functions.functions[names.RECORD_EXECUTION_OUTCOME].add_environment(
            contract.RESUME_STATE_MACHINE_ARN, compensator.state_machine_arn
        )
        functions.roles[names.RECORD_EXECUTION_OUTCOME].permit(
            ["states:StartExecution"], [compensator.state_machine_arn]
        )
        events.Rule(
            self,
            "ExecutionsEndedUnfinished",
            description="Saga and compensation executions that failed, timed out or were aborted: their sagas must end",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    # The compensation machine's too: its saga is then parked, never left COMPENSATING.
                    "stateMachineArn": [state_machine.state_machine_arn, compensator.state_machine_arn],
                },
            ),
            targets=[
                targets.SqsQueue(order_events.outcomes_queue, dead_letter_queue=order_events.outcomes_dead_letter_queue)
            ],
        )

        monitoring = Monitoring(
            self,
            "Monitoring",
            key=key,
            state_machine=state_machine,
            compensation_machine=compensator,
            functions=functions.functions,
            start_queue=order_events.start_queue,
            # None where the stack has no such queue: each alarm keeps its id (DeadLetters<n>, the runbook's).
            dead_letter_queues=[
                order_events.dead_letter_queue,
                order_events.outcomes_dead_letter_queue,
                order_events.domain_events_dead_letter_queue,
                order_events.bus_dead_letter_queue,
            ],
            requests_dead_letter_queue=order_events.requests_dead_letter_queue,
            stream_failures=functions.stream_failures,
            pharmacy_systems=() if pharmacy is None else pharmacy.steps,
            verification=verification is not None,
        )

        outputs = {
            names.OUTPUT_EVENT_BUS: order_events.bus.event_bus_name,
            names.OUTPUT_DOMAIN_EVENT_BUS: order_events.domain_bus.event_bus_name,
            names.OUTPUT_STATE_MACHINE: state_machine.state_machine_arn,
            names.OUTPUT_RESUME_STATE_MACHINE: workflow.resume_state_machine.state_machine_arn,
            names.OUTPUT_EVENT_STORE_TABLE: store.events.table_name,
            names.OUTPUT_SAGA_TABLE: store.sagas.table_name,
            names.OUTPUT_INVENTORY_TABLE: business.inventory.table_name,
            names.OUTPUT_CATALOGUE_TABLE: business.catalogue.table_name,
            names.OUTPUT_PRESCRIPTIONS_TABLE: business.prescriptions.table_name,
            names.OUTPUT_RESERVATIONS_TABLE: business.reservations.table_name,
            names.OUTPUT_SHIPMENTS_TABLE: business.shipments.table_name,
            names.OUTPUT_START_QUEUE: order_events.start_queue.queue_url,
            names.OUTPUT_DEAD_LETTER_QUEUE: order_events.dead_letter_queue.queue_url,
            names.OUTPUT_DASHBOARD: monitoring.dashboard.dashboard_name,
            names.OUTPUT_ALARM_TOPIC: monitoring.alarm_topic.topic_arn,
        }
        if order_events.domain_events_queue is not None:
            outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE] = order_events.domain_events_queue.queue_url
        for output_name, value in outputs.items():
            CfnOutput(self, output_name, value=value)

    @staticmethod
    def _answer_and_stop(
        functions: Functions, saga: sfn.StateMachine, compensator: sfn.StateMachine, waits_for_pharmacists: bool
    ) -> None:
        """The requests handler stops a cancelled saga's execution (StopExecution on the saga machine's
        executions) and answers its waiting task; the waiting task's function answers a decision it finds
        recorded already. SendTaskSuccess and SendTaskFailure have no resource type (Service Authorization
        Reference, "Actions, resources, and condition keys for AWS Step Functions"): only `*` grants them,
        and the token itself is what names the task."""
        requests = functions.roles[names.ORDER_REQUESTS]
        requests_function = functions.functions[names.ORDER_REQUESTS]
        requests_function.add_environment(contract.STATE_MACHINE_ARN, saga.state_machine_arn)
        executions = Stack.of(saga).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{saga.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        requests.permit(["states:StopExecution"], [executions])
        # A cancelled saga whose execution has not started yet has its compensations started instead.
        requests_function.add_environment(contract.RESUME_STATE_MACHINE_ARN, compensator.state_machine_arn)
        requests.permit(["states:StartExecution"], [compensator.state_machine_arn])
        machine = saga.node.default_child
        assert isinstance(machine, sfn.CfnStateMachine)
        machine_id = Stack.of(saga).resolve(Stack.of(saga).get_logical_id(machine))
        finding = (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
            f":execution:<{machine_id}.Name>:*]"
        )
        nag.acknowledge(requests.policy, finding, nag.SAGA_EXECUTIONS)
        if waits_for_pharmacists:
            for name in (names.ORDER_REQUESTS, names.REQUEST_VERIFICATION):
                role = functions.roles[name]
                role.permit(TASK_ANSWERS, ["*"])
                nag.acknowledge(role.policy, nag.wildcard_finding(), nag.TASK_TOKENS)
