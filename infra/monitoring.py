"""What operators watch: the alarms that page them through an SNS topic, and the dashboard (its standing
widgets are infra/dashboard.py's; the optional parts' widgets come with their alarms, here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.dashboard import PERIOD, add_saga_widgets, add_stream_widgets, saga_metric
from lambdas import contract
from lambdas.domain import errors as errors_module

STREAM_BEHIND = Duration.minutes(5)
"""A stream consumer this far behind the event store pages someone."""
FAILED_EXECUTIONS_THRESHOLD = 10
"""Failed executions per 5 minutes that page someone (business refusals also end an execution FAILED)."""


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        state_machine: sfn.StateMachine,
        compensation_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.Function],
        start_queue: sqs.IQueue,
        dead_letter_queues: Sequence[sqs.IQueue | None],
        stream_failures: Mapping[str, sqs.IQueue],
        requests_dead_letter_queue: sqs.IQueue | None = None,
        pharmacy_systems: Sequence[str] = (),
        verification: bool = False,
    ) -> None:
        """`pharmacy_systems`: the systems whose steps call the pharmacy's API (`pharmacy_api_steps`);
        `verification`: the stack waits for pharmacists (`prescription_verification=pharmacist`)."""
        super().__init__(scope, construct_id)
        self.alarm_topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True, display_name="Saga alarms")
        self._alarms_may_publish()
        self._alarms(state_machine, dead_letter_queues)
        if requests_dead_letter_queue is not None:
            # Its own runbook: `saga redrive` moves the order queue's messages, not these.
            self.requests_dead_letters = self._alarm(
                f"DeadLetters{len(dead_letter_queues)}",
                requests_dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Maximum"
                ),
                1,
                "A pharmacist's answer or a cancellation could not be used and reached the requests dead-letter "
                "queue: docs/operations.md, 'Requests in the requests dead-letter queue'.",
            )
            dead_letter_queues = [*dead_letter_queues, requests_dead_letter_queue]
        self._compensation_alarms(compensation_machine)
        self._stream_alarms(functions, stream_failures)
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        add_saga_widgets(
            self.dashboard, state_machine, functions, start_queue, [q for q in dead_letter_queues if q is not None]
        )
        add_stream_widgets(self.dashboard, compensation_machine, functions, stream_failures)
        if pharmacy_systems:
            self._pharmacy_api(pharmacy_systems)
        if verification:
            self._verification()

    def _verification(self) -> None:
        """Verifications no pharmacist answered by their deadline: each saga compensated for it."""
        overdue = saga_metric(contract.VERIFICATIONS_OVERDUE)
        self.verifications_overdue = self._alarm(
            "VerificationsOverdue",
            overdue,
            1,
            "A prescription waited for a pharmacist past its deadline and its saga was compensated: see "
            "docs/operations.md, 'A verification is overdue'.",
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Verifications overdue", left=[overdue.with_(label="overdue")], width=8)
        )

    def _pharmacy_api(self, systems: Sequence[str]) -> None:
        """The pharmacy API's errors by operation and status class, and an alarm for the contract or
        configuration errors, which no retry mends (docs/pharmacy-api.yaml, docs/integrations.md)."""
        contract_errors = saga_metric(contract.PHARMACY_CONTRACT_ERRORS)
        self.pharmacy_contract_errors = self._alarm(
            "PharmacyContractErrors",
            contract_errors,
            1,
            "The pharmacy's API answered as if the contract or its configuration were wrong (400, 401, 403, "
            "404 on a create, or an answer outside docs/pharmacy-api.yaml): its sagas were compensated. Check "
            "pharmacy_api_url, the token in pharmacy_api_secret and the pharmacy's API (docs/integrations.md).",
        )

        gave_up = saga_metric(
            contract.STEPS_GAVE_UP, **{contract.ERROR_DIMENSION: errors_module.PharmacyUnavailable.__name__}
        )
        self.pharmacy_steps_gave_up = self._alarm(
            "PharmacyStepsGaveUp",
            gave_up,
            1,
            "A step gave up on the pharmacy's API after its retries (5xx, 408, 429, timeouts, dropped "
            "connections) and its saga was compensated: check the pharmacy's API and the dashboard's "
            "'Pharmacy API errors' widgets (docs/integrations.md).",
        )

        def errors(operation: str) -> list[cw.IMetric]:
            return [
                saga_metric(
                    contract.PHARMACY_API_ERRORS,
                    **{contract.OPERATION_DIMENSION: operation, contract.STATUS_CLASS_DIMENSION: status_class},
                ).with_(label=f"{operation} {status_class}")
                for status_class in contract.PHARMACY_STATUS_CLASSES
            ]

        steps = [contract.PHARMACY_OPERATIONS[system][0] for system in systems]
        undos = [contract.PHARMACY_OPERATIONS[system][1] for system in systems]
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Pharmacy API errors: steps",
                left=[metric for operation in steps for metric in errors(operation)],
                width=8,
            ),
            cw.GraphWidget(
                title="Pharmacy API errors: compensations",
                left=[metric for operation in undos for metric in errors(operation)],
                width=8,
            ),
            cw.GraphWidget(
                title="Pharmacy API: contract errors, steps given up",
                left=[contract_errors.with_(label="contract errors"), gave_up.with_(label="steps given up")],
                width=8,
            ),
        )

    def _alarms_may_publish(self) -> None:
        """CloudWatch may publish this account's alarms to the topic. The topic's policy replaces
        SNS's default one, and `enforce_ssl` gives it a Deny only: without this statement no alarm
        ever notified (AWS knowledge center, "Why didn't I receive an SNS notification for my
        CloudWatch alarm trigger?"). The key policy lets CloudWatch use the topic's key (DataKey)."""
        stack = Stack.of(self)
        self.alarm_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alarm_topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )

    def _alarm(
        self, construct_id: str, metric: cw.Metric, threshold: float, description: str, periods: int = 1
    ) -> cw.Alarm:
        alarm = metric.create_alarm(
            self,
            construct_id,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        return alarm

    def _alarms(self, state_machine: sfn.StateMachine, dead_letter_queues: Sequence[sqs.IQueue | None]) -> None:
        self.compensation_failed = self._alarm(
            "CompensationFailed",
            saga_metric(contract.SAGAS_PARKED),
            1,
            "A compensation kept failing: a saga is parked as COMPENSATION_FAILED. Fix the cause, then `saga resume`.",
        )
        self.dead_letters = [
            self._alarm(
                f"DeadLetters{n}",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                1,
                "Messages reached a dead-letter queue: read them, fix the cause, redrive them "
                "(docs/operations.md, 'Redriving the dead-letter queue').",
            )
            for n, queue in enumerate(dead_letter_queues)
            if queue is not None
        ]
        self.failed_executions = self._alarm(
            "FailedExecutions",
            state_machine.metric_failed(period=PERIOD),
            FAILED_EXECUTIONS_THRESHOLD,
            "More saga executions failed than usual: check `saga list --state failed` for a common reason.",
        )
        self.past_deadline = self._alarm(
            "SagaPastDeadline",
            state_machine.metric_timed_out(period=PERIOD),
            1,
            "A saga ran past its deadline (the execution timed out); it is being compensated automatically.",
        )

    def _compensation_alarms(self, machine: sfn.StateMachine) -> None:
        """The compensation machine runs what a saga still has to undo: when one of its executions
        ends unfinished, the saga is parked (and CompensationFailed fires); this says why, at once."""
        self.compensation_executions_failed = self._alarm(
            "CompensationExecutionsFailed",
            machine.metric_failed(period=PERIOD),
            1,
            "A compensation execution failed: its saga is parked. `saga list --state compensation_failed`.",
        )
        self.compensation_executions_timed_out = self._alarm(
            "CompensationExecutionsTimedOut",
            machine.metric_timed_out(period=PERIOD),
            1,
            "A compensation execution timed out: its saga is parked. `saga list --state compensation_failed`.",
        )

    def _stream_alarms(self, functions: Mapping[str, lambda_.Function], failures: Mapping[str, sqs.IQueue]) -> None:
        """The projector and the publisher read the event store's stream: a batch given up on is a
        domain event stored but never projected or published; lag and repeated errors come first."""
        self.stream_alarms: list[cw.Alarm] = []
        for name, queue in failures.items():
            label = name.replace("_", " ")
            function = functions[name]
            self.stream_alarms += [
                self._alarm(
                    f"{name.title()}GaveUp",
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                    1,
                    f"The {label} gave up on a stream batch after its retries: its record (shard, sequence "
                    "numbers) is in the failure queue; fix the cause, then `saga replay` (projector) or "
                    "republish from the event store (publisher).",
                ),
                self._alarm(
                    f"{name.title()}Behind",
                    function.metric("IteratorAge", statistic="Maximum", period=PERIOD),
                    STREAM_BEHIND.to_milliseconds(),
                    f"The {label} is more than {STREAM_BEHIND.to_minutes()} minutes behind the event store.",
                ),
                self._alarm(
                    f"{name.title()}Failing",
                    function.metric_errors(period=PERIOD),
                    1,
                    f"The {label} has failed in each of the last 3 periods: its stream is being retried.",
                    periods=3,
                ),
            ]
