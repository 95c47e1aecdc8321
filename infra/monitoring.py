"""What operators watch: the dashboard, and the alarms that page them through an SNS topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lambdas.config import METRICS_NAMESPACE
from lambdas.domain.states import Compensation
from lambdas.logic import outcome_metrics as m
from lambdas.observability import SERVICE

PERIOD = Duration.minutes(5)
FAILED_EXECUTIONS_THRESHOLD = 10
"""Failed executions per 5 minutes that page someone (business refusals also end an execution FAILED)."""


def saga_metric(name: str, statistic: str = "Sum", **dimensions: str) -> cw.Metric:
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE, **dimensions},
        statistic=statistic,
        period=PERIOD,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.Function],
        start_queue: sqs.IQueue,
        dead_letter_queues: Sequence[sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarm_topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True, display_name="Saga alarms")
        self._alarms(state_machine, dead_letter_queues)
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self._dashboard(state_machine, functions, start_queue, dead_letter_queues)

    def _alarm(self, construct_id: str, metric: cw.Metric, threshold: float, description: str) -> cw.Alarm:
        alarm = metric.create_alarm(
            self,
            construct_id,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        return alarm

    def _alarms(self, state_machine: sfn.StateMachine, dead_letter_queues: Sequence[sqs.IQueue]) -> None:
        self.compensation_failed = self._alarm(
            "CompensationFailed",
            saga_metric(m.SAGAS_PARKED),
            1,
            "A compensation kept failing: a saga is parked as COMPENSATION_FAILED. Fix the cause, then `saga resume`.",
        )
        self.dead_letters = [
            self._alarm(
                f"DeadLetters{n}",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                1,
                "Messages reached a dead-letter queue: read them, fix the cause, redrive (README, Operations).",
            )
            for n, queue in enumerate(dead_letter_queues)
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

    def _dashboard(
        self,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.Function],
        start_queue: sqs.IQueue,
        dead_letter_queues: Sequence[sqs.IQueue],
    ) -> None:
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=PERIOD),
                    state_machine.metric_succeeded(period=PERIOD),
                    state_machine.metric_failed(period=PERIOD),
                    state_machine.metric_timed_out(period=PERIOD),
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Sagas by outcome",
                left=[
                    saga_metric(name)
                    for name in (m.SAGAS_STARTED, m.SAGAS_COMPLETED, m.SAGAS_FAILED, m.SAGAS_REJECTED, m.SAGAS_PARKED)
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Compensations by step",
                left=[saga_metric(m.COMPENSATIONS_RUN, compensation=c.value) for c in Compensation],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Saga duration (s)",
                left=[saga_metric(m.SAGA_DURATION, "p50"), saga_metric(m.SAGA_DURATION, "p99")],
                width=8,
            ),
            cw.GraphWidget(
                title="Start queue: oldest message age (s)",
                left=[start_queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
                width=8,
            ),
            cw.GraphWidget(
                title="Dead-letter queue depth",
                left=[q.metric_approximate_number_of_messages_visible(period=PERIOD) for q in dead_letter_queues],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=PERIOD, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda throttles",
                left=[fn.metric_throttles(period=PERIOD, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda duration p99 (ms)",
                left=[fn.metric_duration(period=PERIOD, statistic="p99", label=name) for name, fn in functions.items()],
                width=8,
            ),
        )
