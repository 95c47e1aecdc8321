"""Boxes and edges placed by Graphviz's `dot`: node boxes, spline routes around them, edge labels beside them.

`dot` sees only node numbers and sizes, never a name or an error: what comes from outside cannot reach
its parser or its escape sequences (`\\N`, `\\E`...), and the drawing (graph.py) escapes every text itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DOT_TIMEOUT_SECONDS = 10
"""A dozen nodes take `dot` some milliseconds; a stuck one must not hold a console request forever."""

POINTS_PER_INCH = 72


class GraphvizUnavailable(Exception):
    """`dot` is not installed, or did not lay the graph out; the message says which, for the page."""


@dataclass(frozen=True)
class Box:
    """A rectangle in the drawing's coordinates (y down), by its top-left corner."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class NodeSpec:
    width: float
    height: float
    group: str = ""
    """Nodes of one group are kept in one straight column when possible (the business process)."""


@dataclass(frozen=True)
class EdgeSpec:
    tail: int
    head: int
    label: tuple[float, float] | None = None
    """The label's width and height: `dot` keeps that room free beside the edge."""
    weight: int = 1
    """Heavier edges are kept shorter and straighter."""


@dataclass(frozen=True)
class Route:
    d: str
    """The SVG path of the spline, ending where the arrowhead starts."""
    arrow: str
    """The arrowhead's polygon points (SVG `points`)."""
    label: Box | None


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: tuple[Box, ...]
    edges: tuple[Route, ...]


def dot_command() -> str:
    """The `dot` to run: `SAGA_DOT` if set, else the one on PATH."""
    configured = os.environ.get("SAGA_DOT")
    found = configured if configured else shutil.which("dot")
    if not found or not os.access(found, os.X_OK):
        raise GraphvizUnavailable(
            "the state-machine graph needs Graphviz's dot, which is not installed "
            "(apt-get install graphviz; `make browser` installs it)"
        )
    return found


def lay_out(nodes: list[NodeSpec], edges: list[EdgeSpec], margin: float) -> Layout:
    return _parse(_run_dot(dot_command(), _source(nodes, edges)), edges, margin)


def _source(nodes: list[NodeSpec], edges: list[EdgeSpec]) -> str:
    lines = [
        "digraph saga {",
        # splines=spline routes every edge around the nodes. The separations are the tightest that keep the
        # pharmacist's machine (its extra Catch edges) within a 1280 px window; remincross and a higher
        # mclimit let dot work harder at fewer crossings, which takes milliseconds on a dozen states.
        "rankdir=TB; splines=spline; nodesep=0.25; ranksep=0.35; mclimit=4; remincross=true;",
        'node [shape=box fixedsize=true label=""];',
        "edge [arrowsize=0.8];",
    ]
    for i, node in enumerate(nodes):
        group = f' group="{node.group}"' if node.group.isidentifier() else ""
        lines.append(f"n{i} [width={_inches(node.width)} height={_inches(node.height)}{group}];")
    for i, edge in enumerate(edges):
        # dot numbers edges by their tail node, not in the order given: the id names each one back.
        attributes = [f"id=e{i}", f"weight={edge.weight}"]
        if edge.label:
            width, height = edge.label
            # An empty cell of a fixed size: the room for our label, and no text for dot to read.
            attributes.append(
                f'label=<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD FIXEDSIZE="TRUE" '
                f'WIDTH="{round(width)}" HEIGHT="{round(height)}"></TD></TR></TABLE>>'
            )
        lines.append(f"n{edge.tail} -> n{edge.head} [{' '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines)


def _inches(points: float) -> str:
    return f"{points / POINTS_PER_INCH:.4f}"


@lru_cache(maxsize=256)
def _run_dot(command: str, source: str) -> str:
    """`dot -Tjson`, cached: the same saga shape is drawn again at every live refresh of its page."""
    try:
        done = subprocess.run(
            [command, "-Tjson"], input=source, capture_output=True, text=True, timeout=DOT_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GraphvizUnavailable(f"Graphviz's dot did not run: {type(error).__name__}") from error
    if done.returncode != 0:
        raise GraphvizUnavailable(f"Graphviz's dot failed with exit status {done.returncode}")
    return done.stdout


def _parse(output: str, specs: list[EdgeSpec], margin: float) -> Layout:
    drawn: dict[str, Any] = json.loads(output)
    _, _, right, top = (float(v) for v in drawn["bb"].split(","))

    def at(x: float, y: float) -> tuple[float, float]:
        """dot's points (y up, from the bottom) to the drawing's (y down, with a margin)."""
        return round(x + margin, 1), round(top - y + margin, 1)

    nodes: list[Box] = []
    named = {node["name"]: node for node in drawn.get("objects", [])}
    for i in range(len(named)):
        node = named[f"n{i}"]
        cx, cy = at(*(float(v) for v in node["pos"].split(",")))
        w, h = float(node["width"]) * POINTS_PER_INCH, float(node["height"]) * POINTS_PER_INCH
        nodes.append(Box(cx - w / 2, cy - h / 2, w, h))
    routes: list[Route] = []
    by_id = {edge["id"]: edge for edge in drawn.get("edges", [])}
    for i, spec in enumerate(specs):
        edge = by_id[f"e{i}"]
        spline = next(op["points"] for op in edge["_draw_"] if op["op"] == "b")
        points = [at(x, y) for x, y in spline]
        d = f"M{points[0][0]},{points[0][1]}" + "".join(
            f" C{a[0]},{a[1]} {b[0]},{b[1]} {c[0]},{c[1]}"
            for a, b, c in zip(points[1::3], points[2::3], points[3::3], strict=False)
        )
        head: list[list[float]] = next((op["points"] for op in edge.get("_hdraw_", []) if op["op"] in ("P", "p")), [])
        arrow = " ".join(f"{x},{y}" for x, y in (at(px, py) for px, py in head))
        label = None
        if "lp" in edge and spec.label:
            lx, ly = at(*(float(v) for v in edge["lp"].split(",")))
            width, height = spec.label
            label = Box(lx - width / 2, ly - height / 2, width, height)
        routes.append(Route(d, arrow, label))
    return Layout(round(right + 2 * margin, 1), round(top + 2 * margin, 1), tuple(nodes), tuple(routes))
