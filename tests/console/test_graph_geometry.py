"""The state-machine graph measured in Chromium: on every path, the edges taken avoid the states they do not join,
and every edge's label sits beside its edge, clear of the states.

Colours alone do not make a path readable: an edge that runs through a state says it went there.
The paths expected below are the saga's business process (README's architecture diagram): a step
refused undoes the steps done before it in reverse order; a step that crashed is undone itself first;
a compensation that keeps failing parks the saga.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from harness.inprocess import InProcess
from harness.orders import UNDELIVERABLE_ADDRESS
from harness.saga_requests import APPLIED, request, send
from lambdas.domain.states import SagaState
from saga_console.serve import console_server, running, url_of
from tests.console.test_graph import graphviz
from tests.e2e.helpers import order
from tests.verifying_stack import verifying, verifying_assembly, wait_for_state, waiting

__all__ = ["graphviz", "verifying", "verifying_assembly"]  # fixtures, used by name

pytestmark = pytest.mark.usefixtures("graphviz")

LABEL_REACH = 24.0
"""Pixels from a label's box to its edge at most: beside it, not across the graph."""
SAMPLE_STEP = 2.0
"""Pixels between two points sampled along an edge: thinner than any state box's border."""

COMPENSATIONS = ["Release Inventory", "Cancel Prescription", "Cancel Order"]
PATHS: dict[str, list[str]] = {
    "geo-completed": ["Start", "Create Prescription", "Reserve Inventory", "Initiate Shipment", "End"],
    "geo-refused-prescription": ["Start", "Create Prescription", "Cancel Order", "Saga Failed"],
    "geo-refused-inventory": [
        "Start",
        "Create Prescription",
        "Reserve Inventory",
        "Cancel Prescription",
        "Cancel Order",
        "Saga Failed",
    ],
    "geo-refused-shipment": [
        "Start",
        "Create Prescription",
        "Reserve Inventory",
        "Initiate Shipment",
        *COMPENSATIONS,
        "Saga Failed",
    ],
    "geo-crashed-shipment": [
        "Start",
        "Create Prescription",
        "Reserve Inventory",
        "Initiate Shipment",
        "Cancel Shipment",
        *COMPENSATIONS,
        "Saga Failed",
    ],
    "geo-parked": [
        "Start",
        "Create Prescription",
        "Reserve Inventory",
        "Initiate Shipment",
        "Release Inventory",
        "Record Compensation Failure",
        "Compensation Failed",
    ],
}

SHOTS = {
    "geo-refused-prescription": "console-compensated-at-prescription",
    "geo-refused-inventory": "console-compensated-at-inventory",
    "geo-refused-shipment": "console-compensated-saga",
    "geo-crashed-shipment": "console-crashed-at-shipment",
    "geo-parked": "console-parked-saga",
}
"""The pictures docs/ keeps a copy of, by the name they have there."""

MEASURE = """
const svg = document.querySelector('svg.graph');
const box = (e) => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; };
const edges = [...svg.querySelectorAll('.edge')].map((e) => {
  const line = e.tagName === 'path' ? e : e.querySelector('path');
  const length = line.getTotalLength();
  const points = [];
  for (let at = 0; at <= length; at += arguments[0]) {
    const p = line.getPointAtLength(at); points.push([p.x, p.y]);
  }
  const end = line.getPointAtLength(length); points.push([end.x, end.y]);
  return {from: e.dataset.from, to: e.dataset.to, taken: e.classList.contains('taken'), points};
});
const nodes = [...svg.querySelectorAll('g.node')].map(
  (g) => ({state: g.dataset.state, box: box(g.querySelector('rect'))}));
const labels = [...svg.querySelectorAll('text.caught-label, text.edge-label')].map(
  (t) => ({from: t.dataset.from, to: t.dataset.to, text: t.textContent, box: box(t)}));
return {edges, nodes, labels};
"""


@dataclass(frozen=True)
class Drawn:
    edges: list[dict[str, Any]]
    nodes: dict[str, list[float]]
    labels: list[dict[str, Any]]


def measure(browser: Any) -> Drawn:
    found = browser.execute_script(MEASURE, SAMPLE_STEP)
    return Drawn(found["edges"], {n["state"]: n["box"] for n in found["nodes"]}, found["labels"])


def inside(point: list[float], box: list[float]) -> bool:
    x, y, w, h = box
    return x < point[0] < x + w and y < point[1] < y + h


def distance(point: list[float], box: list[float]) -> float:
    x, y, w, h = box
    dx = max(x - point[0], 0.0, point[0] - (x + w))
    dy = max(y - point[1], 0.0, point[1] - (y + h))
    return math.hypot(dx, dy)


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def flaws(drawn: Drawn, expected: list[str], *later: list[str]) -> list[str]:
    """What is wrong with one saga's drawing, in words (empty: nothing). `later`: what later executions
    (a cancellation's undoing) ran among the saga machine's states, drawn over its own path."""
    found: list[str] = []
    taken = [(e["from"], e["to"]) for e in drawn.edges if e["taken"]]
    if sorted(taken) != sorted(pair for chain in (expected, *later) for pair in pairwise(chain)):
        found.append(f"edges taken {taken}, the path is {expected} then {later}")
    for edge in (e for e in drawn.edges if e["taken"]):
        for state, rect in drawn.nodes.items():
            if state in (edge["from"], edge["to"]):
                continue
            if any(inside(p, rect) for p in edge["points"]):
                on = "on" if any(state in chain for chain in (expected, *later)) else "NOT on"
                found.append(f"taken edge {edge['from']} -> {edge['to']} crosses {state} ({on} the path)")
    for label in drawn.labels:
        own = [e for e in drawn.edges if (e["from"], e["to"]) == (label["from"], label["to"])]
        reach = min((distance(p, label["box"]) for e in own for p in e["points"]), default=math.inf)
        if reach > LABEL_REACH:
            found.append(f"label {label['text']!r} is {reach:.0f} px from its edge {label['from']} -> {label['to']}")
        for state, rect in drawn.nodes.items():
            if overlap(label["box"], rect):
                found.append(f"label {label['text']!r} covers {state}")
    return found


@pytest.mark.usefixtures("cloud")
def test_on_every_path_the_edges_taken_avoid_other_states_and_labels_sit_beside_their_edges(
    cloud: InProcess, browser: Any, console_url: str, screenshot: Callable[[str], Path]
) -> None:
    # Given a saga completed, one refused at each step (an unknown medication, one out of stock, an address
    # outside the delivery area), one whose shipment crashed and one parked by a compensation that keeps failing
    cloud.put_order(order("geo-completed", "med-1"))
    cloud.put_order(order("geo-refused-prescription", "med-404"))
    cloud.put_order(order("geo-refused-inventory", "med-3", "med-scarce"))
    cloud.put_order(order("geo-refused-shipment", "med-1", shipping_address=UNDELIVERABLE_ADDRESS))
    assert cloud.wait_for_sagas([o for o in PATHS if "refused" in o or "completed" in o]) == {
        "geo-completed": "COMPLETED",
        "geo-refused-prescription": "FAILED",
        "geo-refused-inventory": "FAILED",
        "geo-refused-shipment": "FAILED",
    }
    cloud.set_faults({"initiate_shipment": {"permanent": 1.0}})
    cloud.put_order(order("geo-crashed-shipment", "med-1"))
    assert cloud.wait_for_sagas(["geo-crashed-shipment"]) == {"geo-crashed-shipment": "FAILED"}
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(order("geo-parked", "med-3", shipping_address=UNDELIVERABLE_ADDRESS))
    assert cloud.wait_for_sagas(["geo-parked"]) == {"geo-parked": "COMPENSATION_FAILED"}
    cloud.set_faults({})
    # When the operator opens each saga's page, then its drawing has no flaw
    browser.set_window_size(1280, 1900)
    try:
        found: dict[str, list[str]] = {}
        for order_id, expected in PATHS.items():
            browser.get(console_url + f"sagas/{order_id}")
            found[order_id] = flaws(measure(browser), expected)
            screenshot(SHOTS.get(order_id, f"console-graph-{order_id.removeprefix('geo-')}"))
    finally:
        browser.set_window_size(1280, 1000)
    assert not {k: v for k, v in found.items() if v}, found


WITH_A_PHARMACIST: dict[str, list[list[str]]] = {
    "geo-waiting": [["Start", "Create Prescription", "Verify Prescription"]],
    "geo-rejected": [["Start", "Create Prescription", "Verify Prescription", *COMPENSATIONS[1:], "Saga Failed"]],
    "geo-cancelled": [["Start", "Create Prescription", "Verify Prescription"], COMPENSATIONS[1:]],
}
"""A saga waiting for a pharmacist, one the pharmacist rejected (its prescription and order undone), one
cancelled while it waited: its execution stopped in Verify Prescription, and what was done (the
prescription, the order) undone by the compensation machine's execution, drawn over it (README: a
cancellation before the shipment "stops, undoes exactly what was done")."""


def test_with_a_pharmacist_waiting_rejected_and_cancelled_paths_are_drawn_clear(
    verifying: InProcess, browser: Any, screenshot: Callable[[str], Path]
) -> None:
    for order_id in WITH_A_PHARMACIST:
        waiting(verifying, order_id)
    rejected = send(verifying, request("reject", "geo-rejected", pharmacist_id="ph-1", reason="interaction"), 20)
    cancelled = send(verifying, request("cancel", "geo-cancelled", reason="moved away"), 20)
    assert (rejected.recorded, cancelled.recorded) == (APPLIED, APPLIED)
    wait_for_state(verifying, "geo-rejected", SagaState.FAILED)
    wait_for_state(verifying, "geo-cancelled", SagaState.CANCELLED)
    server = console_server(verifying, "127.0.0.1", 0)
    with running(server):
        found: dict[str, list[str]] = {}
        for order_id, chains in WITH_A_PHARMACIST.items():
            browser.get(url_of(server) + f"sagas/{order_id}")
            found[order_id] = flaws(measure(browser), *chains)
            screenshot(f"console-graph-{order_id.removeprefix('geo-')}")
    assert not {k: v for k, v in found.items() if v}, found
