"""The state machine drawn as SVG, server-side, from the definition the stack deployed, laid out by Graphviz.

Server-side because the graph is small (a dozen states): the page needs no layout library and no
script to show it, and the browser tests read the very colours drawn here. `dot` places the boxes
and routes every edge around them with its label beside it (graph_layout.py); this module decides
what each box and edge says and how the path taken stands out, and escapes every text it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from html import escape
from typing import Any

from harness.execution_path import (
    ABORTED,
    CAUGHT,
    END,
    FAILED,
    IN_PROGRESS,
    NOT_REACHED,
    START,
    SUCCEEDED,
    ExecutionPath,
)
from saga_console.graph_layout import Box, EdgeSpec, GraphvizUnavailable, Layout, NodeSpec, lay_out

COLOURS = {
    SUCCEEDED: "#2ea043",
    FAILED: "#d1242f",
    CAUGHT: "#f0883e",
    IN_PROGRESS: "#2f81f7",
    ABORTED: "#6e7781",
    NOT_REACHED: "#eaeef2",
}
"""Node fills by outcome, as the Step Functions console colours them; a stopped state grey (it did not fail)."""

LABELS = {
    SUCCEEDED: "succeeded",
    FAILED: "failed",
    CAUGHT: "caught error",
    IN_PROGRESS: "in progress",
    ABORTED: "stopped",
    NOT_REACHED: "not reached",
}

NODE_MIN_W, NODE_H, LINE_H = 150.0, 40.0, 14.0
CHAR_W, LABEL_CHAR_W, LABEL_H = 7.5, 6.6, 16.0
"""Widths per character at the page's 12 px and 11 px system fonts, rounded up: the room `dot` keeps
for a text must hold it in any sans-serif the browser picks."""
MARGIN = 12.0
LABEL_MAX = 40
"""An error name comes from the execution history: beyond this many characters the label is cut
(the whole name stays in the edge's tooltip and the execution table)."""
ALL_ERRORS = "States.ALL"
TASK_FAILED, TIMEOUT = "States.TaskFailed", "States.Timeout"
"""`States.TaskFailed` in a Catcher matches any error but `States.Timeout` (the Step Functions guide)."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    catches: tuple[str, ...] = ()
    """The errors of a Catch edge; empty for Next/End."""


def edges_of(definition: dict[str, Any]) -> list[Edge]:
    found = [Edge(START, definition["StartAt"])]
    for name, state in definition["States"].items():
        if "Next" in state:
            found.append(Edge(name, state["Next"]))
        if state.get("End") or state["Type"] == "Succeed":
            found.append(Edge(name, END))
        found.extend(Edge(name, c["Next"], tuple(c["ErrorEquals"])) for c in state.get("Catch", []))
        for choice in state.get("Choices", []):
            found.append(Edge(name, choice["Next"]))
        if "Default" in state:
            found.append(Edge(name, state["Default"]))
    return found


def main_line(definition: dict[str, Any]) -> list[str]:
    """The chain of `Next` from the start (the business process), kept in one straight column."""
    line, name = [START], definition["StartAt"]
    while name in definition["States"] and name not in line:
        line.append(name)
        state = definition["States"][name]
        name = state.get("Next", END if state.get("End") else "")
    return [*line, END] if name == END else line


def taken_edges(edges: list[Edge], path: ExecutionPath) -> dict[int, str | None]:
    """Index of every edge the execution took → the error it caught.

    The history names the states on each side of a transition, not the Catcher: of several edges
    between the same two states, the taken one is the first whose errors name the caught error,
    or `States.ALL` (Step Functions tries Catchers in order, and `States.ALL` must come last).
    """
    taken: dict[int, str | None] = {}
    for (source, target), caught in path.taken.items():
        between = [i for i, e in enumerate(edges) if (e.source, e.target) == (source, target)]
        if not between:
            continue
        matching = [i for i in between if caught and _catches(edges[i].catches, caught)]
        plain = [i for i in between if not edges[i].catches]
        chosen = matching or (plain if not caught else []) or between
        taken[chosen[0]] = caught
    return taken


def _catches(errors: tuple[str, ...], error: str) -> bool:
    return error in errors or ALL_ERRORS in errors or (TASK_FAILED in errors and error != TIMEOUT)


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _label_text(edge: Edge, caught: str | None, taken: bool) -> str | None:
    if taken and caught:
        return f"caught {_cut(caught)}"
    return _cut(", ".join(edge.catches)) if edge.catches else None


def svg(definition: dict[str, Any], path: ExecutionPath, notes: dict[str, str] | None = None) -> str:
    """The graph; `notes` adds a line to a state (a waiting task: until when). Without Graphviz, says so."""
    notes = notes or {}
    names = [START, *definition["States"], END]
    edges = [e for e in edges_of(definition) if e.source in names and e.target in names]
    taken = taken_edges(edges, path)
    labels = [_label_text(e, taken.get(i), i in taken) for i, e in enumerate(edges)]
    line = set(main_line(definition))
    specs = [_node_spec(n, path, notes.get(n), "main" if n in line else "") for n in names]
    weights = [8 if e.source in line and e.target in line and not e.catches else 1 for e in edges]
    try:
        placed = lay_out(
            specs,
            [
                EdgeSpec(names.index(e.source), names.index(e.target), _label_size(text), weight)
                for e, text, weight in zip(edges, labels, weights, strict=True)
            ],
            MARGIN,
        )
    except GraphvizUnavailable as missing:
        return f'<p class="error" id="graph-unavailable">{escape(str(missing))}</p>'
    return _draw(definition, path, notes, names, edges, taken, labels, placed)


def _draw(
    definition: dict[str, Any],
    path: ExecutionPath,
    notes: dict[str, str],
    names: list[str],
    edges: list[Edge],
    taken: dict[int, str | None],
    labels: list[str | None],
    placed: Layout,
) -> str:
    w, h = placed.width, placed.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="state machine">'
    ]
    # The path taken is drawn last, over the edges not taken where they meet.
    order = sorted(range(len(edges)), key=lambda i: i in taken)
    for i in order:
        edge, route = edges[i], placed.edges[i]
        classes = " ".join(["edge", "taken" if i in taken else "idle", "catch" if edge.catches else "next"])
        title = f"Catch {', '.join(edge.catches)}" if edge.catches else "Next"
        if taken.get(i):
            title += f": caught {taken[i]}"
        ends = f'data-from="{escape(edge.source)}" data-to="{escape(edge.target)}"'
        parts.append(
            f'<g class="{classes}" {ends}><title>{escape(title)}</title>'
            f'<path class="line" d="{route.d}"/><polygon class="arrow" points="{route.arrow}"/></g>'
        )
    for name, box in zip(names, placed.nodes, strict=True):
        parts.append(_node(name, box, path, definition["States"].get(name, {}), notes.get(name)))
    for i in order:  # over the nodes and edges: dot kept their room free, nothing hides them
        text, room = labels[i], placed.edges[i].label
        if text is None or room is None:
            continue
        edge = edges[i]
        kind = "caught-label" if taken.get(i) else "edge-label"
        parts.append(
            f'<text class="{kind}" x="{room.x + room.w / 2:.1f}" y="{room.y + room.h / 2 + 4:.1f}" '
            f'text-anchor="middle" '
            f'data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _lines(name: str, path: ExecutionPath, note: str | None) -> list[str]:
    run = path.runs.get(name)
    lines = [name]
    if run and run.retries:
        lines.append(f"retries: {run.retries}")
    if note:
        lines.append(note)
    return lines


def _node_spec(name: str, path: ExecutionPath, note: str | None, group: str) -> NodeSpec:
    lines = _lines(name, path, note)
    width = max(NODE_MIN_W, max(len(line) for line in lines) * CHAR_W + 24)
    return NodeSpec(width, max(NODE_H, LINE_H * len(lines) + 12), group)


def _label_size(text: str | None) -> tuple[float, float] | None:
    return (len(text) * LABEL_CHAR_W + 8, LABEL_H) if text else None


def _node(name: str, box: Box, path: ExecutionPath, state: dict[str, Any], note: str | None) -> str:
    outcome = path.outcome(name)
    run = path.runs.get(name)
    pseudo = name in (START, END)
    text_fill = "#1f2328" if outcome == NOT_REACHED else "#ffffff"
    tooltip = [f"{name}: {LABELS[outcome]}"]
    for retry in state.get("Retry", []):
        tooltip.append(f"retry {', '.join(retry['ErrorEquals'])} up to {retry.get('MaxAttempts', 3)} times")
    if run and run.error:
        tooltip.append(f"error: {run.error}")
    if run and note:
        tooltip.append(f"since {run.entered_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, {note}")
    retries = run.retries if run else 0
    rx = min(box.h / 2, 20) if pseudo else 6
    lines = _lines(name, path, note)
    first = box.y + box.h / 2 - (len(lines) - 1) * LINE_H / 2 + 4
    body = (
        f'<g class="node {outcome}" data-state="{escape(name)}" data-outcome="{outcome}" data-retries="{retries}">'
        f"<title>{escape(chr(10).join(tooltip))}</title>"
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="{rx}" '
        f'fill="{COLOURS[outcome]}" stroke="#57606a" stroke-width="1"/>'
    )
    kinds = ["name"] + (["retries"] if retries else []) + (["node-note"] if note else [])
    for i, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        body += (
            f'<text class="{kind}" x="{box.x + box.w / 2:.1f}" y="{first + i * LINE_H:.1f}" text-anchor="middle" '
            f'fill="{text_fill}">{escape(line)}</text>'
        )
    return body + "</g>"
