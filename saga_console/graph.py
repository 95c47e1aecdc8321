"""The state machine drawn as SVG, server-side, from the definition the stack deployed.

Server-side because the graph is small (a dozen states), the page then needs no layout
library and no script to show it, and the browser tests read the very colours drawn here.
The layout: a state's row is its longest distance from the start, so every edge points
down; the chain of `Next` from `StartAt` (the business process) is the left column, the
states it leads to on failure sit to its right.
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

NODE_W, NODE_H = 190, 40
ROW, COLUMN = 74, 240
MARGIN = 24


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


def layout(definition: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(column, row) of every state, the start and the end."""
    edges = edges_of(definition)
    names = [START, *definition["States"], END]
    row = dict.fromkeys(names, 0)
    for _ in names:  # longest path by relaxation: the definitions are small and acyclic
        for edge in edges:
            row[edge.target] = max(row[edge.target], row[edge.source] + 1)
    main, name = [START], definition["StartAt"]
    while name in definition["States"] and name not in main:
        main.append(name)
        name = definition["States"][name].get("Next", "")
    taken: set[tuple[int, int]] = set()
    place: dict[str, tuple[int, int]] = {}
    for n in sorted(names, key=lambda n: (row[n], names.index(n))):
        column = 0 if n in main or n == END else 1
        while (column, row[n]) in taken:
            column += 1
        taken.add((column, row[n]))
        place[n] = (column, row[n])
    return place


def _xy(place: tuple[int, int]) -> tuple[float, float]:
    return MARGIN + place[0] * COLUMN, MARGIN + place[1] * ROW


def _edge_path(a: tuple[int, int], b: tuple[int, int]) -> str:
    """The SVG path of an edge: straight down between rows, bowed out to the right past them."""
    (ax, ay), (bx, by) = _xy(a), _xy(b)
    if a[0] == b[0] and b[1] - a[1] > 1:  # skips rows in its column: bow out to the right
        x1, y1, x2, y2 = ax + NODE_W, ay + NODE_H / 2, bx + NODE_W, by + NODE_H / 2
        bow = 30 + 12 * (b[1] - a[1])
        return f"M{x1},{y1} C{x1 + bow},{y1} {x2 + bow},{y2} {x2},{y2}"
    x1, y1, x2, y2 = ax + NODE_W / 2, ay + NODE_H, bx + NODE_W / 2, by
    mid = (y1 + y2) / 2
    return f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"


def _caught_label(edge: Edge, source: tuple[int, int], caught: str) -> str:
    """The error a Catch edge caught, just under the state that raised it (where the edge leaves)."""
    x, y = _xy(source)
    return (
        f'<text class="caught-label" x="{x + NODE_W / 2 + 8}" y="{y + NODE_H + 14}" '
        f'data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">caught {escape(caught)}</text>'
    )


def svg(definition: dict[str, Any], path: ExecutionPath, notes: dict[str, str] | None = None) -> str:
    """The graph; `notes` adds a line under a state (a waiting task: until when)."""
    place = layout(definition)
    width = MARGIN * 2 + (max(c for c, _ in place.values()) + 1) * COLUMN + 60
    height = MARGIN * 2 + max(r for _, r in place.values()) * ROW + NODE_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="state machine">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
    ]
    labels: list[str] = []
    for edge in edges_of(definition):
        d = _edge_path(place[edge.source], place[edge.target])
        key = (edge.source, edge.target)
        taken = key in path.taken
        classes = ["edge", "taken" if taken else "idle", "catch" if edge.catches else "next"]
        caught = path.taken.get(key) if taken else None
        title = f"Catch {', '.join(edge.catches)}" if edge.catches else "Next"
        parts.append(
            f'<path class="{" ".join(classes)}" data-from="{escape(edge.source)}" data-to="{escape(edge.target)}" '
            f'd="{d}" marker-end="url(#arrow)"><title>{escape(title)}</title></path>'
        )
        if caught:
            labels.append(_caught_label(edge, place[edge.source], caught))
    for name, (column, row) in place.items():
        note = (notes or {}).get(name)
        parts.append(_node(name, _xy((column, row)), path, definition["States"].get(name, {}), note))
    parts.extend(labels)  # over the nodes: a label is never hidden by a state drawn after it
    parts.append("</svg>")
    return "".join(parts)


def _node(name: str, at: tuple[float, float], path: ExecutionPath, state: dict[str, Any], note: str | None) -> str:
    x, y = at
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
    rx = NODE_H / 2 if pseudo else 6
    label_y = y + (NODE_H / 2 - 3 if retries else NODE_H / 2 + 5)
    body = (
        f'<g class="node {outcome}" data-state="{escape(name)}" data-outcome="{outcome}" data-retries="{retries}">'
        f"<title>{escape(chr(10).join(tooltip))}</title>"
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}" fill="{COLOURS[outcome]}" '
        f'stroke="#57606a" stroke-width="1"/>'
        f'<text x="{x + NODE_W / 2}" y="{label_y}" text-anchor="middle" fill="{text_fill}">{escape(name)}</text>'
    )
    if retries:
        body += (
            f'<text class="retries" x="{x + NODE_W / 2}" y="{y + NODE_H - 6}" text-anchor="middle" '
            f'fill="{text_fill}">retries: {retries}</text>'
        )
    if note:
        body += (
            f'<text class="node-note" x="{x + NODE_W / 2}" y="{y + NODE_H + 13}" text-anchor="middle">'
            f"{escape(note)}</text>"
        )
    return body + "</g>"
