"""The metrics AWS's own services publish to CloudWatch (AWS/Lambda, AWS/States, AWS/SQS), emitted locally.

On AWS, Lambda, Step Functions and SQS put these without being asked; moto puts none, so every
dashboard widget on them had no data. The local cloud records each where it sees it happen:
an invocation (`runtime`: Invocations, Errors, Throttles, Duration, by FunctionName), a stream
batch handed to a function (`pollers`: IteratorAge, the age of the batch's last record), an
execution's start and end (patches below: ExecutionsStarted, ...Succeeded, ...Failed,
...TimedOut, ...Aborted, by StateMachineArn), and once a minute every queue's depth and oldest
message's age (QueueName), as SQS reports them at one-minute intervals. Names, namespaces,
dimensions and units as AWS documents them (Lambda developer guide, "Types of metrics for Lambda
functions"; Step Functions developer guide, "Monitoring Step Functions metrics using Amazon
CloudWatch"; SQS developer guide, "Available CloudWatch metrics for Amazon SQS").

Cheap by design: a record is a dict update under a lock; the values wait in a buffer by metric
and minute, and reach moto's CloudWatch only when something reads CloudWatch (the read patches
flush first). The local cloud never throttles, so Throttles is 0 for each invocation.
moto computes no percentiles (it ignores `ExtendedStatistics`): `percentile` computes them from
the raw data points as CloudWatch defines them ("CloudWatch statistics definitions").
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.backend.execution import Execution

from localcloud.patching import Kind, Patch

LAMBDA, STATES, SQS = "AWS/Lambda", "AWS/States", "AWS/SQS"
_EXECUTION_ENDS = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}

_Key = tuple[str, str, str, str, tuple[tuple[str, str], ...], str, datetime]
"""(account, region, namespace, metric, dimensions, unit, minute)."""

_lock = threading.Lock()
_pending: dict[_Key, Counter[float]] = {}
"""Each metric's values per minute, counted: a count metric keeps two numbers (0, 1) a minute."""


def _minute(at: datetime | None = None) -> datetime:
    # naive UTC: how moto's CloudWatch keeps (and compares) its timestamps
    return (at or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0, tzinfo=None)


def record(
    account: str, region: str, namespace: str, metric: str, dimension: tuple[str, str], value: float, unit: str
) -> None:
    key = (account, region, namespace, metric, (dimension,), unit, _minute())
    with _lock:
        _pending.setdefault(key, Counter())[value] += 1


def _arn_parts(arn: str) -> tuple[str, str]:
    """(account, region) of an ARN: arn:partition:service:region:account:..."""
    parts = arn.split(":")
    return parts[4], parts[3]


def invocation(function_arn: str, function_name: str, milliseconds: float, errored: bool) -> None:
    """One invocation of a function, as Lambda counts it."""
    account, region = _arn_parts(function_arn)
    dimension = ("FunctionName", function_name)
    record(account, region, LAMBDA, "Invocations", dimension, 1.0, "Count")
    record(account, region, LAMBDA, "Errors", dimension, 1.0 if errored else 0.0, "Count")
    record(account, region, LAMBDA, "Throttles", dimension, 0.0, "Count")
    record(account, region, LAMBDA, "Duration", dimension, milliseconds, "Milliseconds")


def iterator_age(stream_arn: str, function_name: str, last_record_created: float, now: float) -> None:
    """A stream batch handed to a function: the age of its last record (epoch seconds), in ms.
    `stream_arn`: its mapping's source, in the function's account and region."""
    account, region = _arn_parts(stream_arn)
    age = max(0.0, (now - last_record_created) * 1000)
    record(account, region, LAMBDA, "IteratorAge", ("FunctionName", function_name), age, "Milliseconds")


def execution(state_machine_arn: str, metric: str) -> None:
    account, region = _arn_parts(state_machine_arn)
    record(account, region, STATES, metric, ("StateMachineArn", state_machine_arn), 1.0, "Count")


def sample_queues(account: str, region: str, now: datetime | None = None) -> bool:
    """Every queue's depth and oldest message's age, once a minute (SQS's own interval); whether sampled."""
    from moto.sqs.models import sqs_backends

    minute = _minute(now)
    backend = sqs_backends[account][region]
    with _lock:
        # On the backend itself: a new local cloud (new backends) samples at once, in the same minute too.
        if getattr(backend, "metrics_sampled_at", None) == minute:
            return False
        backend.metrics_sampled_at = minute  # type: ignore[attr-defined]  # ours, on moto's backend
    at = (now or datetime.now(UTC)).timestamp() * 1000
    for name, queue in list(backend.queues.items()):
        sent: list[float] = [float(m.sent_timestamp or 0) for m in list(queue._messages) if m.sent_timestamp]
        oldest = max(0.0, (at - min(sent)) / 1000) if sent else 0.0
        dimension = ("QueueName", name)
        key = (account, region, SQS)
        with _lock:
            _pending.setdefault((*key, "ApproximateNumberOfMessagesVisible", (dimension,), "Count", minute), Counter())[
                float(queue.approximate_number_of_messages)
            ] += 1
            _pending.setdefault((*key, "ApproximateAgeOfOldestMessage", (dimension,), "Seconds", minute), Counter())[
                float(int(oldest))
            ] += 1
    return True


def flush() -> int:
    """Put every waiting value into moto's CloudWatch; how many data were put.

    One statistic set per distinct value, metric and minute (Minimum = Maximum, so CloudWatch still
    gives its percentiles): moto keeps a datum per value of a `Values` list, which for the counts
    (Invocations, Errors, ...) would be one per invocation; this is one per minute."""
    with _lock:
        taken = dict(_pending)
        _pending.clear()
    put = 0
    for (account, region, namespace, metric, dimensions, unit, minute), values in taken.items():
        data = [
            {
                "MetricName": metric,
                "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
                "Timestamp": minute,
                "Unit": unit,
                "StatisticValues": {"SampleCount": count, "Sum": value * count, "Minimum": value, "Maximum": value},
            }
            for value, count in sorted(values.items())
        ]
        cloudwatch_backends[account][region].put_metric_data(namespace, data)
        put += len(data)
    return put


def reset() -> None:
    with _lock:
        _pending.clear()


# --- percentiles as CloudWatch defines them -------------------------------------------------

_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100)$")


def percentile(values: list[float], statistic: str) -> float | None:
    """`pNN` of raw data points: the smallest point with at least NN% of the points at or below it
    (CloudWatch: "p95 ... means that 95 percent of the data within the period is lower than this
    value"); None where CloudWatch has none (no points, a negative one, not a percentile)."""
    match = _PERCENTILE.match(statistic)
    if not match or not values or min(values) < 0:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(float(match.group(1)) / 100 * len(ordered)))
    return ordered[rank - 1]


def _raw_values(data: list[Any]) -> list[float] | None:
    """The period's raw points; None if a statistic set hides them (CloudWatch: percentiles of a set
    only when its SampleCount is 1 or its Minimum equals its Maximum)."""
    values: list[float] = []
    for datum in data:
        if isinstance(datum, MetricDatum):
            values.append(float(datum.value))
        elif isinstance(datum, MetricAggregatedDatum) and (datum.sample_count == 1 or datum.min == datum.max):
            values.extend([float(datum.min)] * int(datum.sample_count))
        else:
            return None
    return values


def _get_metric_statistics(self: CloudWatchResponse) -> ActionResult:
    extended = self._get_param("ExtendedStatistics") or []
    if not extended:
        answer: ActionResult = _STATISTICS.original(self)
        return answer
    statistics = self._get_param("Statistics", [])
    periods = self.cloudwatch_backend.get_metric_statistics(
        self._get_param("Namespace"),
        self._get_param("MetricName"),
        self._get_param("StartTime"),
        self._get_param("EndTime"),
        self._get_int_param("Period"),
        statistics,
        unit=self._get_param("Unit"),
        dimensions=self._get_param("Dimensions", []),
    )
    datapoints = []
    for period in periods:
        point: dict[str, Any] = {"Timestamp": period.timestamp}
        for statistic in statistics:
            point[statistic] = period.get_statistics_for_type(statistic)
        values = _raw_values(period.metric_data)
        found = {s: percentile(values, s) for s in extended} if values is not None else {}
        point["ExtendedStatistics"] = {s: v for s, v in found.items() if v is not None}
        if period.unit:
            point["Unit"] = period.unit
        datapoints.append(point)
    return ActionResult({"Label": self._get_param("MetricName"), "Datapoints": datapoints})


def _flushed(name: str) -> Any:
    def read(self: CloudWatchBackend, *args: Any, **kwargs: Any) -> Any:
        flush()
        return _READS[name].original(self, *args, **kwargs)

    return read


def _started(self: Execution) -> None:
    _STARTED.original(self)
    execution(self.state_machine_arn, "ExecutionsStarted")


def ended(state_machine_arn: str, status: object) -> None:
    """An execution's end, by its status (`patches/stepfunctions`' termination hook calls it)."""
    if isinstance(status, str) and status in _EXECUTION_ENDS:
        execution(state_machine_arn, _EXECUTION_ENDS[status])


_READS = {
    name: Patch(
        owner=CloudWatchBackend,
        name=name,
        replacement=_flushed(name),
        kind=Kind.GAP,
        why="AWS's services' own metrics wait in the local cloud's buffer (batched per minute, so "
        "invocations stay cheap); a CloudWatch read puts them in first, so it sees all of them.",
    )
    for name in ("get_metric_statistics", "get_metric_data", "list_metrics")
}
_STATISTICS = Patch(
    owner=CloudWatchResponse,
    name="get_metric_statistics",
    replacement=_get_metric_statistics,
    kind=Kind.GAP,
    why="moto ignores ExtendedStatistics: a p50 or p99 widget had no data; computed from the raw data "
    "points as CloudWatch defines percentiles.",
)
_STARTED = Patch(
    owner=Execution,
    name="start",
    replacement=_started,
    kind=Kind.GAP,
    why="Step Functions counts every execution it starts (AWS/States ExecutionsStarted); moto counts none.",
)
PATCHES = (*_READS.values(), _STATISTICS, _STARTED)
