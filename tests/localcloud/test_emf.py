"""The functions' EMF lines become CloudWatch metrics on the local cloud, as CloudWatch Logs extracts them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness.inprocess import InProcess
from localcloud.emf import metric_data
from tests.e2e.helpers import order


def test_an_emf_line_gives_one_datum_per_metric_and_dimension_set() -> None:
    line = (
        '{"_aws":{"Timestamp":1796219309917,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["service"]],'
        '"Metrics":[{"Name":"SagasStarted","Unit":"Count"},{"Name":"SagaDuration","Unit":"Seconds"}]}]},'
        '"service":"s","SagasStarted":[1.0],"SagaDuration":0.5}'
    )
    found = metric_data(line)
    assert [(ns, d["MetricName"], d["Values"], d["Unit"], d["Dimensions"]) for ns, d in found] == [
        ("N", "SagasStarted", [1.0], "Count", [{"Name": "service", "Value": "s"}]),
        ("N", "SagaDuration", [0.5], "Seconds", [{"Name": "service", "Value": "s"}]),
    ]
    assert found[0][1]["Timestamp"] == datetime.fromtimestamp(1796219309.917, UTC).replace(tzinfo=None)
    assert metric_data('{"level": "INFO", "message": "not a metric"}') == []
    assert metric_data("plain text") == []


def test_get_metric_statistics_returns_what_the_functions_published(cloud: InProcess) -> None:
    cloud.put_order(order("emf-1", "med-1"))
    cloud.put_order(order("emf-2", "med-1"))
    cloud.wait_for_sagas(["emf-1", "emf-2"])
    cloud.local.wait_until_idle()
    now = datetime.now(UTC)
    answer = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="OrderFulfillment",
        MetricName="SagasCompleted",
        Dimensions=[{"Name": "service", "Value": "order-fulfillment"}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in answer["Datapoints"]) == 2
