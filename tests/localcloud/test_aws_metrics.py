"""The local cloud publishes AWS's own service metrics (AWS/Lambda, AWS/States, AWS/SQS) and their percentiles.

Names, namespaces and dimensions: Lambda developer guide, "Types of metrics for Lambda functions";
Step Functions developer guide, "Monitoring Step Functions metrics using Amazon CloudWatch"; SQS
developer guide, "Available CloudWatch metrics for Amazon SQS". Percentiles: CloudWatch user guide,
"CloudWatch statistics definitions" ("p95 ... 95 percent of the data within the period is lower").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from harness.inprocess import InProcess
from infra import names
from localcloud import aws_metrics, patches
from tests.e2e.helpers import order
from tests.localcloud.pins import moto_own, pins

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"


@pytest.fixture
def aws() -> Iterator[None]:
    patches.apply_patches()
    aws_metrics.reset()
    with mock_aws():
        yield
    aws_metrics.reset()


def _statistics(cloudwatch: Any, namespace: str, metric: str, dimension: tuple[str, str], **kind: Any) -> list[Any]:
    now = datetime.now(UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=5),
        Period=600,
        **kind,
    )
    return list(answer["Datapoints"])


def _sum(cloudwatch: CloudWatchClient, namespace: str, metric: str, dimension: tuple[str, str]) -> float:
    return float(sum(p["Sum"] for p in _statistics(cloudwatch, namespace, metric, dimension, Statistics=["Sum"])))


# --- percentiles as CloudWatch defines them ---------------------------------------------------


def test_percentiles_of_one_to_a_hundred_are_their_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    # 50 of the 100 points are at or below 50; p99: 99 at or below 99; p100 is the maximum.
    assert [aws_metrics.percentile(values, p) for p in ("p50", "p90", "p99", "p100")] == [50.0, 90.0, 99.0, 100.0]


def test_no_percentile_without_points_with_a_negative_one_or_for_another_statistic() -> None:
    assert aws_metrics.percentile([], "p99") is None
    assert aws_metrics.percentile([1.0, -1.0], "p50") is None  # CloudWatch: none when any value is negative
    assert aws_metrics.percentile([1.0], "Average") is None


@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200),
    st.sampled_from(["p1", "p10", "p50", "p90", "p95", "p99", "p99.9"]),
)
def test_a_percentile_has_that_share_of_the_points_at_or_below_it_and_less_strictly_below(
    values: list[float], statistic: str
) -> None:
    share = float(statistic[1:]) / 100
    found = aws_metrics.percentile(values, statistic)
    assert found in values
    assert sum(v <= found for v in values) >= math.ceil(share * len(values))
    assert sum(v < found for v in values) < max(1, math.ceil(share * len(values)))


@pins("cloudwatch.CloudWatchResponse.get_metric_statistics")
def test_moto_still_answers_no_percentiles_and_the_local_cloud_computes_them(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_data(
        Namespace="N",
        MetricData=[{"MetricName": "Duration", "Dimensions": [{"Name": "d", "Value": "v"}], "Values": [3, 1, 2, 4]}],
    )
    extended = {"ExtendedStatistics": ["p50", "p99"]}
    with moto_own("cloudwatch.CloudWatchResponse.get_metric_statistics"):
        [point] = _statistics(cloudwatch, "N", "Duration", ("d", "v"), **extended)
        assert "ExtendedStatistics" not in point, "moto computes percentiles now"
    [point] = _statistics(cloudwatch, "N", "Duration", ("d", "v"), **extended)
    assert point["ExtendedStatistics"] == {"p50": 2.0, "p99": 4.0}


# --- recorded values reach CloudWatch when it is read ----------------------------------------


@pins(
    "cloudwatch.CloudWatchBackend.get_metric_statistics",
    "cloudwatch.CloudWatchBackend.get_metric_data",
    "cloudwatch.CloudWatchBackend.list_metrics",
)
def test_recorded_invocations_wait_until_cloudwatch_is_read(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    aws_metrics.invocation(FUNCTION_ARN, "f", 12.0, errored=False)
    aws_metrics.invocation(FUNCTION_ARN, "f", 30.0, errored=True)
    reads = (
        "cloudwatch.CloudWatchBackend.get_metric_statistics",
        "cloudwatch.CloudWatchBackend.get_metric_data",
        "cloudwatch.CloudWatchBackend.list_metrics",
    )
    with moto_own(*reads):
        assert cloudwatch.list_metrics(Namespace="AWS/Lambda")["Metrics"] == [], "moto has AWS/Lambda metrics now"
    names_seen = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AWS/Lambda")["Metrics"]}
    assert names_seen == {"Invocations", "Errors", "Throttles", "Duration"}
    function = ("FunctionName", "f")
    assert _sum(cloudwatch, "AWS/Lambda", "Invocations", function) == 2
    assert _sum(cloudwatch, "AWS/Lambda", "Errors", function) == 1
    assert _sum(cloudwatch, "AWS/Lambda", "Throttles", function) == 0
    [duration] = _statistics(cloudwatch, "AWS/Lambda", "Duration", function, Statistics=["Maximum"])
    assert (duration["Maximum"], duration["Unit"]) == (30.0, "Milliseconds")


def test_queues_are_sampled_once_a_minute_with_their_depth_and_oldest_age(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    later = datetime.now(UTC) + timedelta(seconds=90)
    assert aws_metrics.sample_queues(ACCOUNT, REGION, now=later)
    assert not aws_metrics.sample_queues(ACCOUNT, REGION, now=later), "twice in one minute"
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    [visible] = _statistics(
        cloudwatch, "AWS/SQS", "ApproximateNumberOfMessagesVisible", ("QueueName", "q"), Statistics=["Maximum"]
    )
    assert visible["Maximum"] == 2
    [age] = _statistics(
        cloudwatch, "AWS/SQS", "ApproximateAgeOfOldestMessage", ("QueueName", "q"), Statistics=["Maximum"]
    )
    assert 89 <= age["Maximum"] <= 91
    assert age["Unit"] == "Seconds"


# --- the stack's own functions, executions and queues ----------------------------------------


def _function_names(cloud: InProcess) -> dict[str, str]:
    """Logical function (`create_prescription`) -> its physical name, by the handler it runs."""
    by_handler = {names.handler_path(f): f for f in names.ALL_FUNCTIONS}
    found = cloud.client("lambda").list_functions()["Functions"]
    return {by_handler[f["Handler"]]: f["FunctionName"] for f in found if f["Handler"] in by_handler}


@pins("stepfunctions.Execution.start")
def test_a_completed_and_a_refused_saga_show_in_lambdas_and_step_functions_metrics(cloud: InProcess) -> None:
    # Given one order that completes and one whose medication is not in the catalogue
    cloud.put_order(order("metrics-ok", "med-1"))
    cloud.put_order(order("metrics-refused", "unknown"))
    cloud.wait_for_sagas(["metrics-ok", "metrics-refused"])
    cloud.local.wait_until_idle()
    cloudwatch = cloud.client("cloudwatch")
    functions = _function_names(cloud)
    machine = ("StateMachineArn", cloud.outputs[names.OUTPUT_STATE_MACHINE])

    def lambda_sum(function: str, metric: str) -> float:
        return _sum(cloudwatch, "AWS/Lambda", metric, ("FunctionName", functions[function]))

    # Then both orders reached Create Prescription, which refused one by raising (a Lambda error)
    assert lambda_sum("create_prescription", "Invocations") == 2
    assert lambda_sum("create_prescription", "Errors") == 1
    # only the valid one shipped; nothing was throttled
    assert lambda_sum("initiate_shipment", "Invocations") == 1
    assert lambda_sum("initiate_shipment", "Errors") == 0
    assert lambda_sum("initiate_shipment", "Throttles") == 0
    [duration] = _statistics(
        cloudwatch,
        "AWS/Lambda",
        "Duration",
        ("FunctionName", functions["create_prescription"]),
        Statistics=["Maximum", "SampleCount"],
        ExtendedStatistics=["p50", "p99"],
    )
    assert duration["SampleCount"] == 2
    assert 0 < duration["ExtendedStatistics"]["p50"] <= duration["ExtendedStatistics"]["p99"] == duration["Maximum"]
    # and Step Functions started two executions: one succeeded, one failed after its compensation
    assert _sum(cloudwatch, "AWS/States", "ExecutionsStarted", machine) == 2
    with moto_own("stepfunctions.Execution.start"):
        aws_metrics.flush()
        cloud.put_order(order("metrics-unseen", "med-1"))
        cloud.wait_for_sagas(["metrics-unseen"])
        assert _sum(cloudwatch, "AWS/States", "ExecutionsStarted", machine) == 2, "moto counts starts now"
    assert _sum(cloudwatch, "AWS/States", "ExecutionsSucceeded", machine) == 2
    assert _sum(cloudwatch, "AWS/States", "ExecutionsFailed", machine) == 1
    assert _sum(cloudwatch, "AWS/States", "ExecutionsTimedOut", machine) == 0
    # and the stream consumers report how far behind the event store they were
    for consumer in (names.PROJECTOR, names.PUBLISHER):
        ages = _statistics(
            cloudwatch, "AWS/Lambda", "IteratorAge", ("FunctionName", functions[consumer]), Statistics=["Maximum"]
        )
        assert ages, consumer
        assert ages[0]["Unit"] == "Milliseconds"
        assert ages[0]["Maximum"] >= 0
    # and the start queue's depth was sampled (the pollers sample every queue each minute)
    start_queue = cloud.outputs[names.OUTPUT_START_QUEUE].rsplit("/", 1)[1]
    assert _statistics(
        cloudwatch, "AWS/SQS", "ApproximateNumberOfMessagesVisible", ("QueueName", start_queue), Statistics=["Maximum"]
    )
