"""The CloudWatch dashboard operators watch the saga on."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lambdas.config import METRICS_NAMESPACE
from lambdas.observability import SERVICE

SAGA_OUTCOMES = ("SagasStarted", "SagasCompleted", "SagasFailed", "SagasRejected", "CompensationFailures")


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.Function],
        start_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(5)
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=period),
                    state_machine.metric_succeeded(period=period),
                    state_machine.metric_failed(period=period),
                    state_machine.metric_timed_out(period=period),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Sagas by outcome",
                left=[
                    cw.Metric(
                        namespace=METRICS_NAMESPACE,
                        metric_name=name,
                        dimensions_map={"service": SERVICE},
                        statistic="Sum",
                        period=period,
                    )
                    for name in SAGA_OUTCOMES
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=period, label=name) for name, fn in functions.items()],
                width=12,
            ),
            cw.GraphWidget(
                title="Start queue age / dead letters",
                left=[start_queue.metric_approximate_age_of_oldest_message(period=period)],
                right=[dead_letter_queue.metric_approximate_number_of_messages_visible(period=period)],
                width=12,
            ),
        )
