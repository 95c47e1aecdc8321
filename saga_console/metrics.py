"""The stack's own dashboard, drawn from CloudWatch: each metric widget as a small SVG chart.

The widgets and their metrics come from the deployed dashboard's body (`get_dashboard`), the
points from `get_metric_statistics` over the last half hour by minute; so the page shows
what the CloudWatch console would, for whichever target the console reads (on the local
cloud: the functions' EMF metrics; the services' own metrics have no data there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from harness.target import Target
from infra import names

SERIES_COLOURS = ("#2f81f7", "#2ea043", "#d1242f", "#bf8700", "#8250df", "#1b7c83")
WIDTH, HEIGHT, PAD = 360, 120, 6
STATISTICS = frozenset({"Sum", "Average", "Minimum", "Maximum", "SampleCount"})


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


def _metric_lines(properties: dict[str, Any]) -> list[tuple[str, str, list[dict[str, str]], str]]:
    """(namespace, name, dimensions, stat) of each explicit metric line of a widget."""
    lines = []
    for row in properties.get("metrics", []):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        plain = [p for p in row if isinstance(p, str)]
        if len(plain) < 2 or "..." in plain or len(plain) % 2:
            continue  # a shorthand line ("...", "."): not drawn
        namespace, name, rest = plain[0], plain[1], plain[2:]
        dimensions = [{"Name": rest[i], "Value": rest[i + 1]} for i in range(0, len(rest), 2)]
        lines.append((namespace, name, dimensions, str(options.get("stat", properties.get("stat", "Average")))))
    return lines


def _short(value: str) -> str:
    """A dimension value as a legend shows it: the name in an ARN, without the stack's prefix."""
    name = value.rsplit(":", 1)[-1]
    return name.removeprefix(f"{names.DEFAULT_STACK_NAME}-")[:48]


def dashboard(target: Target, minutes: int = 30, now: datetime | None = None) -> list[Widget]:
    cloudwatch = target.client("cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=target.output(names.OUTPUT_DASHBOARD))["DashboardBody"])
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    widgets = []
    for widget in body.get("widgets", []):
        properties = widget.get("properties", {})
        if widget.get("type") != "metric":
            continue
        series = []
        for namespace, name, dimensions, stat in _metric_lines(properties):
            label = " ".join([name, *(_short(d["Value"]) for d in dimensions if d["Name"] != "service")])
            found = Series(label, stat)
            series.append(found)
            kind = {"Statistics": [stat]} if stat in STATISTICS else {"ExtendedStatistics": [stat]}
            answer = cloudwatch.get_metric_statistics(
                Namespace=namespace,
                MetricName=name,
                Dimensions=dimensions,
                StartTime=start,
                EndTime=end,
                Period=60,
                **kind,
            )
            for point in answer["Datapoints"]:
                value = point.get(stat, point.get("ExtendedStatistics", {}).get(stat))
                if value is not None:
                    found.points.append((point["Timestamp"], float(value)))
            found.points.sort()
        widgets.append(Widget(str(properties.get("title", "")), series))
    return widgets


def chart(widget: Widget, minutes: int = 30, now: datetime | None = None) -> str:
    """The widget's series as polylines over the last `minutes` (its own y scale from 0)."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    peak = max((v for s in widget.series for _, v in s.points), default=0.0) or 1.0
    span = (end - start).total_seconds()

    def x(at: datetime) -> float:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return PAD + (at - start).total_seconds() / span * (WIDTH - 2 * PAD)

    def y(value: float) -> float:
        return HEIGHT - PAD - value / peak * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(widget.title)}">',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#d0d7de"/>',
        f'<text x="{PAD}" y="{PAD + 8}" class="peak">{peak:g}</text>',
    ]
    for n, series in enumerate(widget.series):
        if not series.points:
            continue
        colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
        points = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in series.points)
        parts.append(
            f'<polyline class="series" data-label="{escape(series.label)}" data-points="{len(series.points)}" '
            f'points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        parts.extend(f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>' for at, v in series.points)
    parts.append("</svg>")
    return "".join(parts)
