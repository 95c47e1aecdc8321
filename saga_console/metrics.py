"""The stack's own dashboard, drawn from CloudWatch: each metric widget as a small SVG chart with time axes.

The widgets and their metrics come from the deployed dashboard's body (`get_dashboard`), the
points from `get_metric_statistics` over the last half hour by minute; so the page shows what the
CloudWatch console would, for whichever target the console reads (on the local cloud too: it
publishes AWS's own Lambda, Step Functions and SQS metrics, and percentiles, localcloud/aws_metrics.py).
A line is named by its metric's label in the dashboard, else by what it measures (a function's
logical name), never by a physical resource name alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from harness.target import Target
from infra import names

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef

SERIES_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
    "#637939",
    "#e7969c",
    "#7b4173",
    "#3182bd",
)
"""Distinct colours for up to 16 lines in a widget (the Lambda widgets draw one per function)."""
WIDTH, HEIGHT = 380, 150
LEFT, RIGHT, TOP, BOTTOM = 42, 8, 8, 20
"""The plot's margins: the y axis's labels on the left, the time axis's below."""
TICK_MINUTES = 5
AXIS, GRID, TEXT = "#8c959f", "#eaeef2", "#57606a"
STATISTICS = frozenset({"Sum", "Average", "Minimum", "Maximum", "SampleCount"})
_GENERATED_SUFFIX = re.compile(r"[0-9A-F]{8}(-[A-Za-z0-9]{6,16})?$")
"""The hash CDK ends a logical id with and the random suffix CloudFormation adds to a physical name."""


@dataclass
class Series:
    label: str
    stat: str
    points: list[tuple[datetime, float]] = field(default_factory=list)


@dataclass
class Widget:
    title: str
    series: list[Series]

    @property
    def has_data(self) -> bool:
        return any(s.points for s in self.series)


@dataclass(frozen=True)
class _Line:
    namespace: str
    name: str
    dimensions: list[DimensionTypeDef]
    stat: str
    label: str | None


def _metric_lines(properties: dict[str, Any]) -> list[_Line]:
    """Each explicit metric line of a widget, with its label if the dashboard gives one."""
    lines = []
    for row in properties.get("metrics", []):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        plain = [p for p in row if isinstance(p, str)]
        if len(plain) < 2 or "..." in plain or len(plain) % 2:
            continue  # a shorthand line ("...", "."): not drawn
        namespace, name, rest = plain[0], plain[1], plain[2:]
        dimensions: list[DimensionTypeDef] = [{"Name": rest[i], "Value": rest[i + 1]} for i in range(0, len(rest), 2)]
        stat = str(options.get("stat", properties.get("stat", "Average")))
        label = options.get("label")
        lines.append(_Line(namespace, name, dimensions, stat, str(label) if label else None))
    return lines


def _short(value: str) -> str:
    """A resource's name as a legend can show it: the name in an ARN, without the stack's prefix, the
    construct path's hash or the random suffix (`OrderFulfillment-OrderEventsStartQueue1A96A8CB-DC20...`
    -> `OrderEventsStartQueue`)."""
    name = value.rsplit(":", 1)[-1]
    name = re.sub(r"^[A-Za-z0-9]+-", "", name) if "-" in name else name
    return _GENERATED_SUFFIX.sub("", name)[:48] or name[:48]


def _function_names(target: Target) -> dict[str, str]:
    """Physical function name -> the function's logical name (`create_prescription`), by its handler."""
    by_handler = {names.handler_path(function): function for function in names.ALL_FUNCTIONS}
    by_handler[names.handler_path(names.REQUEST_VERIFICATION)] = names.REQUEST_VERIFICATION
    found: dict[str, str] = {}
    for page in target.client("lambda").get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            if function.get("Handler") in by_handler:
                found[function["FunctionName"]] = by_handler[function["Handler"]]
    return found


def _label(line: _Line, functions: dict[str, str]) -> str:
    if line.label:
        return line.label
    shown = []
    for dimension in line.dimensions:
        if dimension["Name"] == "service":
            continue
        value = dimension["Value"]
        shown.append(
            functions.get(value) if dimension["Name"] == "FunctionName" and value in functions else _short(value)
        )
    return " ".join([line.name, *(s for s in shown if s)])


def dashboard(target: Target, minutes: int = 30, now: datetime | None = None) -> list[Widget]:
    cloudwatch = target.client("cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=target.output(names.OUTPUT_DASHBOARD))["DashboardBody"])
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    functions: dict[str, str] | None = None
    widgets = []
    for widget in body.get("widgets", []):
        properties = widget.get("properties", {})
        if widget.get("type") != "metric":
            continue
        series = []
        for line in _metric_lines(properties):
            if line.label is None and functions is None:
                functions = _function_names(target)  # only for a dashboard whose lines have no labels
            found = Series(_label(line, functions or {}), line.stat)
            series.append(found)
            # A statistic named by the dashboard, a string: the stubs' Literal names would need a cast each.
            kind: dict[str, Any] = (
                {"Statistics": [line.stat]} if line.stat in STATISTICS else {"ExtendedStatistics": [line.stat]}
            )
            answer = cloudwatch.get_metric_statistics(
                Namespace=line.namespace,
                MetricName=line.name,
                Dimensions=line.dimensions,
                StartTime=start,
                EndTime=end,
                Period=60,
                **kind,
            )
            for point in answer["Datapoints"]:
                named: Mapping[str, Any] = point  # a statistic is read by the name the dashboard gives it
                value = named.get(line.stat, point.get("ExtendedStatistics", {}).get(line.stat))
                if value is not None:
                    found.points.append((point["Timestamp"], float(value)))
            found.points.sort()
        widgets.append(Widget(str(properties.get("title", "")), series))
    return widgets


def colour(index: int) -> str:
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


def nice_ceiling(peak: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `peak` (1 for nothing): the y axis's top."""
    if peak <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(peak))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= peak * (1 - 1e-12)))


def _number(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"


def chart(widget: Widget, minutes: int = 30, now: datetime | None = None) -> str:
    """The widget's series as polylines over the last `minutes`, with a y axis from 0 and a time axis (UTC)."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    top = nice_ceiling(max((v for s in widget.series for _, v in s.points), default=0.0))
    span = (end - start).total_seconds()
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT

    def x(at: datetime) -> float:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return LEFT + (at - start).total_seconds() / span * (right - LEFT)

    def y(value: float) -> float:
        return bottom - value / top * (bottom - TOP)

    axis = f'stroke="{AXIS}" font-size="10"'
    label = f'stroke="none" fill="{TEXT}"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(widget.title)}">',
        f'<g class="axis y-axis" {axis}><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>',
    ]
    for value in (0.0, top / 2, top):
        at = f"{y(value):.1f}"
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{at}" x2="{right}" y2="{at}" stroke="{GRID}"/>'
            f'<text class="tick" x="{LEFT - 4}" y="{y(value) + 3:.1f}" text-anchor="end" {label}>'
            f"{_number(value)}</text>"
        )
    parts.append(f'</g><g class="axis x-axis" {axis}><line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>')
    tick = start + timedelta(minutes=-start.minute % TICK_MINUTES)
    while tick <= end:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{bottom}" x2="{x(tick):.1f}" y2="{bottom + 3}"/>'
            f'<text class="tick" x="{x(tick):.1f}" y="{HEIGHT - 6}" text-anchor="middle" {label}>{tick:%H:%M}</text>'
        )
        tick += timedelta(minutes=TICK_MINUTES)
    parts.append("</g>")
    for n, series in enumerate(widget.series):
        if not series.points:
            continue
        points = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in series.points)
        parts.append(
            f'<polyline class="series" data-label="{escape(series.label)}" data-points="{len(series.points)}" '
            f'points="{points}" fill="none" stroke="{colour(n)}" stroke-width="2"/>'
        )
        parts.extend(
            f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour(n)}"/>' for at, v in series.points
        )
    parts.append("</svg>")
    return "".join(parts)
