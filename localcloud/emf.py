"""EMF log lines become CloudWatch metrics, as CloudWatch Logs extracts them on AWS.

A line a function writes to its log group that is an Embedded Metric Format document (a
JSON object whose `_aws.CloudWatchMetrics` names a namespace, dimension sets and metrics)
is published as metric data: one datum per metric and dimension set, at the document's
timestamp, with its unit. Only lines that reached the log group count, as on AWS. So
`aws cloudwatch get-metric-statistics` answers locally, and the console can draw the
dashboard's widgets. Closes a behaviour gap: moto's CloudWatch Logs extracts nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

MAX_VALUES_PER_DATUM = 150
"""PutMetricData takes at most 150 values in one datum."""


def metric_data(line: str) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, PutMetricData datum) for each metric of an EMF line; [] for any other line."""
    if not line.startswith("{") or '"_aws"' not in line:
        return []
    try:
        document = json.loads(line)
        directives = document["_aws"]["CloudWatchMetrics"]
        # naive UTC: how moto's CloudWatch keeps (and compares) its timestamps
        at = datetime.fromtimestamp(int(document["_aws"]["Timestamp"]) / 1000, UTC).replace(tzinfo=None)
    except (ValueError, KeyError, TypeError):
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    for directive in directives:
        for dimension_set in directive.get("Dimensions") or [[]]:
            dimensions = [{"Name": d, "Value": str(document[d])} for d in dimension_set if d in document]
            for metric in directive.get("Metrics", []):
                value = document.get(metric["Name"])
                values = value if isinstance(value, list) else [value]
                numbers = [float(v) for v in values if isinstance(v, int | float)]
                for start in range(0, len(numbers), MAX_VALUES_PER_DATUM):
                    datum = {
                        "MetricName": metric["Name"],
                        "Dimensions": dimensions,
                        "Timestamp": at,
                        "Values": numbers[start : start + MAX_VALUES_PER_DATUM],
                    }
                    if metric.get("Unit"):
                        datum["Unit"] = metric["Unit"]
                    found.append((directive["Namespace"], datum))
    return found


def publish(cloudwatch: Any, lines: list[str]) -> int:
    """Put the metrics of `lines` into moto's CloudWatch backend; how many data."""
    data = [d for line in lines for d in metric_data(line)]
    for namespace, datum in data:
        cloudwatch.put_metric_data(namespace, [datum])
    return len(data)
