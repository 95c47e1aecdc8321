"""What operators see on the dashboard: executions, sagas by outcome, queues, the stream and the functions.

The alarms that page them, and the widgets that come with optional parts (the pharmacy's API, the
pharmacists' verification), are in infra/monitoring.py, which makes the dashboard and adds these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from lambdas import contract
from lambdas.domain.states import Compensation

PERIOD = Duration.minutes(5)


def saga_metric(name: str, statistic: str = "Sum", **dimensions: str) -> cw.Metric:
    return cw.Metric(
        namespace=contract.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={contract.SERVICE_DIMENSION: contract.SERVICE, **dimensions},
        statistic=statistic,
        period=PERIOD,
    )


def _label(name: str) -> str:
    """A metric or construct name as a legend reads it: `SagasCompleted` -> `sagas completed`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()


def _dead_letters_label(queue: sqs.IQueue) -> str:
    """Whose dead letters a queue holds, from its construct id (`OutcomesDeadLetterQueue` -> `outcomes`)."""
    return _label(queue.node.id.removesuffix("DeadLetterQueue")) or "orders"


def _executions_widget(title: str, machine: sfn.StateMachine) -> cw.GraphWidget:
    """A state machine's executions: started, succeeded, failed, timed out."""
    return cw.GraphWidget(
        title=title,
        left=[
            machine.metric_started(period=PERIOD, label="started"),
            machine.metric_succeeded(period=PERIOD, label="succeeded"),
            machine.metric_failed(period=PERIOD, label="failed"),
            machine.metric_timed_out(period=PERIOD, label="timed out"),
        ],
        width=8,
    )


def add_saga_widgets(
    dashboard: cw.Dashboard,
    state_machine: sfn.StateMachine,
    functions: Mapping[str, lambda_.Function],
    start_queue: sqs.IQueue,
    dead_letter_queues: Sequence[sqs.IQueue],
) -> None:
    dashboard.add_widgets(
        _executions_widget("Executions", state_machine),
        cw.GraphWidget(
            title="Sagas by outcome",
            left=[
                saga_metric(name).with_(label=label)
                for name, label in (
                    (contract.SAGAS_STARTED, "started"),
                    (contract.SAGAS_COMPLETED, "completed"),
                    (contract.SAGAS_FAILED, "failed"),
                    (contract.SAGAS_REJECTED, "rejected"),
                    (contract.SAGAS_CANCELLED, "cancelled"),
                    (contract.SAGAS_PARKED, "parked"),
                )
            ],
            width=8,
        ),
        cw.GraphWidget(
            title="Orders refused",
            left=[
                saga_metric(contract.SAGAS_REJECTED).with_(label="rejected (invalid)"),
                saga_metric(contract.CONFLICTING_ORDERS).with_(label="conflicting (order id reused)"),
            ],
            width=8,
        ),
        cw.GraphWidget(
            title="Compensations by step",
            left=[
                saga_metric(contract.COMPENSATIONS_RUN, **{contract.COMPENSATION_DIMENSION: c.value}).with_(
                    label=_label(c.value)
                )
                for c in Compensation
            ],
            width=8,
        ),
    )
    dashboard.add_widgets(
        cw.GraphWidget(
            title="Saga duration (s)",
            left=[
                saga_metric(contract.SAGA_DURATION, "p50").with_(label="p50"),
                saga_metric(contract.SAGA_DURATION, "p99").with_(label="p99"),
            ],
            width=8,
        ),
        cw.GraphWidget(
            title="Start queue: oldest message age (s)",
            left=[start_queue.metric_approximate_age_of_oldest_message(period=PERIOD, label="start queue")],
            width=8,
        ),
        cw.GraphWidget(
            title="Dead-letter queue depth",
            left=[
                q.metric_approximate_number_of_messages_visible(period=PERIOD, label=_dead_letters_label(q))
                for q in dead_letter_queues
            ],
            width=8,
        ),
    )
    dashboard.add_widgets(
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


def add_stream_widgets(
    dashboard: cw.Dashboard,
    machine: sfn.StateMachine,
    functions: Mapping[str, lambda_.Function],
    failures: Mapping[str, sqs.IQueue],
) -> None:
    dashboard.add_widgets(
        _executions_widget("Compensation executions", machine),
        cw.GraphWidget(
            title="Event store stream: iterator age (ms)",
            left=[
                functions[name].metric("IteratorAge", statistic="Maximum", period=PERIOD, label=name)
                for name in failures
            ],
            width=8,
        ),
        cw.GraphWidget(
            title="Stream batches given up",
            left=[
                q.metric_approximate_number_of_messages_visible(period=PERIOD, label=name)
                for name, q in failures.items()
            ],
            width=8,
        ),
    )
