"""The path read from an execution history and the graph drawn from a definition, without a browser."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.execution_path import (
    CAUGHT,
    END,
    FAILED,
    IN_PROGRESS,
    NOT_REACHED,
    START,
    SUCCEEDED,
    ExecutionPath,
    read_path,
)
from harness.inprocess import InProcess
from saga_console.app import create_app
from saga_console.graph import svg
from saga_console.graph_layout import GraphvizUnavailable, dot_command
from tests.e2e.helpers import order

DEFINITION: dict[str, Any] = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": {
            "Type": "Task",
            "Next": "Ship",
            "Retry": [{"ErrorEquals": ["TransientError"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Release"}],
        },
        "Ship": {"Type": "Task", "End": True, "Catch": [{"ErrorEquals": ["NoRoute"], "Next": "Release"}]},
        "Release": {"Type": "Task", "Next": "Failed"},
        "Failed": {"Type": "Fail"},
    },
}

TWO_CATCHERS: dict[str, Any] = {
    "StartAt": "Verify",
    "States": {
        "Verify": {
            "Type": "Task",
            "End": True,
            "Catch": [
                {"ErrorEquals": ["PharmacistRejected", "States.Timeout"], "Next": "Undo"},
                {"ErrorEquals": ["States.ALL"], "Next": "Undo"},
            ],
        },
        "Undo": {"Type": "Task", "Next": "Failed"},
        "Failed": {"Type": "Fail"},
    },
}
"""Verify Prescription's shape: two Catchers into the same compensation, told apart only by the errors they name."""


@pytest.fixture
def graphviz() -> None:
    """The drawing needs Graphviz's dot (`make test` installs it, as it does the browser): a developer's run
    without it skips, CI (`CI` set) fails, so a green CI always means the graph was laid out."""
    try:
        dot_command()
    except GraphvizUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))


laid_out = pytest.mark.usefixtures("graphviz")
"""A test that draws the graph."""

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def history(*kinds: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": kind, "timestamp": T0 + timedelta(seconds=i), **extra} for i, (kind, extra) in enumerate(kinds)]


def entered(name: str, kind: str = "TaskStateEntered") -> tuple[str, dict[str, Any]]:
    return kind, {"stateEnteredEventDetails": {"name": name}}


def exited(name: str) -> tuple[str, dict[str, Any]]:
    return "TaskStateExited", {"stateExitedEventDetails": {"name": name}}


def failed(error: str) -> tuple[str, dict[str, Any]]:
    return "LambdaFunctionFailed", {"lambdaFunctionFailedEventDetails": {"error": error}}


SCHEDULED: tuple[str, dict[str, Any]] = ("LambdaFunctionScheduled", {})
SUCCEEDED_CALL: tuple[str, dict[str, Any]] = ("LambdaFunctionSucceeded", {})


def caught_in(first: str, error: str, then: str) -> ExecutionPath:
    """An execution whose first state failed with `error`, caught into `then`, which undid it and failed the saga."""
    return read_path(
        history(
            ("ExecutionStarted", {}),
            entered(first),
            SCHEDULED,
            failed(error),
            exited(first),
            entered(then),
            SCHEDULED,
            SUCCEEDED_CALL,
            exited(then),
            entered("Failed", "FailStateEntered"),
            ("ExecutionFailed", {}),
        )
    )


def drawn(definition: dict[str, Any], path: ExecutionPath, notes: dict[str, str] | None = None) -> ET.Element:
    """The SVG parsed as XML: what does not parse, or holds an element we did not write, fails here."""
    return ET.fromstring(svg(definition, path, notes))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    found = {}
    for node in root.iter(f"{SVG}g"):
        if "node" in classes(node):
            rect = node.find(f"{SVG}rect")
            assert rect is not None
            found[node.get("data-state", "")] = tuple(float(rect.get(k, "")) for k in ("x", "y", "width", "height"))
    return found  # type: ignore[return-value]  # four floats each, by construction


def taken(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if {"edge", "taken"} <= classes(g)]


@laid_out
def test_a_retried_then_caught_step_is_orange_with_its_retries_and_the_error_on_the_catch_edge() -> None:
    path = read_path(
        history(
            ("ExecutionStarted", {}),
            entered("Reserve"),
            SCHEDULED,
            failed("TransientError"),
            SCHEDULED,
            failed("TransientError"),
            SCHEDULED,
            failed("OutOfStock"),
            exited("Reserve"),
            entered("Release"),
            SCHEDULED,
            SUCCEEDED_CALL,
            exited("Release"),
            entered("Failed", "FailStateEntered"),
            ("ExecutionFailed", {}),
        )
    )
    assert path.outcome("Reserve") == CAUGHT
    assert path.runs["Reserve"].retries == 2
    assert path.outcome("Release") == SUCCEEDED
    assert path.outcome("Failed") == FAILED
    assert path.outcome("Ship") == NOT_REACHED
    assert path.outcome(END) == NOT_REACHED
    assert path.taken[("Reserve", "Release")] == "OutOfStock"
    assert path.taken[("Release", "Failed")] is None
    drawing = svg(DEFINITION, path)
    assert "caught OutOfStock" in drawing
    assert 'data-state="Reserve" data-outcome="caught" data-retries="2"' in drawing


def test_a_running_execution_shows_its_current_state_in_progress() -> None:
    path = read_path(
        history(
            ("ExecutionStarted", {}), entered("Reserve"), SCHEDULED, SUCCEEDED_CALL, exited("Reserve"), entered("Ship")
        )
    )
    assert path.outcome(START) == SUCCEEDED
    assert path.outcome("Reserve") == SUCCEEDED
    assert path.outcome("Ship") == IN_PROGRESS


def test_an_uncaught_failure_marks_its_state_failed() -> None:
    path = read_path(
        history(("ExecutionStarted", {}), entered("Ship"), SCHEDULED, failed("Boom"), ("ExecutionFailed", {}))
    )
    assert path.outcome("Ship") == FAILED


@laid_out
@pytest.mark.parametrize(
    ("error", "catcher"),
    [("PharmacistRejected", "Catch PharmacistRejected, States.Timeout"), ("Boom", "Catch States.ALL")],
)
def test_of_two_catchers_into_one_state_only_the_one_that_caught_the_error_is_drawn_taken(
    error: str, catcher: str
) -> None:
    # Step Functions tries the Catchers in their order: the first naming the error (else States.ALL) takes it
    root = drawn(TWO_CATCHERS, caught_in("Verify", error, "Undo"))
    into_undo = [g for g in taken(root) if (g.get("data-from"), g.get("data-to")) == ("Verify", "Undo")]
    assert len(into_undo) == 1
    title = into_undo[0].find(f"{SVG}title")
    assert title is not None
    assert title.text == f"{catcher}: caught {error}"


@laid_out
def test_states_are_laid_out_apart_and_the_business_process_is_one_straight_column_down() -> None:
    root = drawn(DEFINITION, ExecutionPath())
    placed = boxes(root)
    assert set(placed) == {START, "Reserve", "Ship", "Release", "Failed", END}
    names = list(placed)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (ax, ay, aw, ah), (bx, by, bw, bh) = placed[a], placed[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{a} overlaps {b}"
    column = [START, "Reserve", "Ship", END]  # StartAt and its chain of Next: the business process
    centres = {round(placed[n][0] + placed[n][2] / 2) for n in column}
    assert len(centres) == 1, centres
    tops = [placed[n][1] for n in column]
    assert tops == sorted(tops), "every Next points down"


@laid_out
def test_an_error_name_from_the_history_is_escaped_and_cut_on_its_label_and_whole_in_its_title() -> None:
    hostile = 'x"];n0->n1[label="\\N"]</text><script>alert(1)</script>' + "y" * 300
    root = drawn(DEFINITION, caught_in("Reserve", hostile, "Release"))
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    [label] = [t for t in root.iter(f"{SVG}text") if "caught-label" in classes(t)]
    assert label.text is not None
    assert label.text.startswith('caught x"];n0->n1[label="\\N"]')
    assert len(label.text) < 60, "a label stays beside its edge, not across the page"
    [edge] = [g for g in taken(root) if g.get("data-to") == "Release"]
    title = edge.find(f"{SVG}title")
    assert title is not None
    assert title.text is not None
    assert hostile in title.text


@laid_out
def test_a_waiting_state_says_until_when_inside_its_box() -> None:
    path = read_path(history(("ExecutionStarted", {}), entered("Reserve")))
    root = drawn(DEFINITION, path, {"Reserve": "waiting until 2026-01-02 00:00:00 UTC"})
    [node] = [g for g in root.iter(f"{SVG}g") if g.get("data-state") == "Reserve"]
    [note] = [t for t in node.iter(f"{SVG}text") if "node-note" in classes(t)]
    assert note.text == "waiting until 2026-01-02 00:00:00 UTC"
    _, y, _, h = boxes(root)["Reserve"]
    assert y < float(note.get("y", "")) < y + h, "the note is inside the state's box, where no edge runs"


def test_without_graphviz_the_graph_says_so_instead_of_drawing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAGA_DOT", str(tmp_path / "no-dot-here"))
    shown = svg(DEFINITION, ExecutionPath())
    assert shown.startswith('<p class="error" id="graph-unavailable">')
    assert "Graphviz" in shown
    assert "apt-get install graphviz" in shown


def test_without_graphviz_a_sagas_page_still_answers_and_says_why_it_has_no_graph(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cloud.put_order(order("no-dot", "med-1"))
    cloud.wait_for_sagas(["no-dot"])
    monkeypatch.setenv("SAGA_DOT", str(tmp_path / "no-dot-here"))
    page = create_app(cloud).test_client().get("/console/sagas/no-dot")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="graph-unavailable"' in text
    assert "COMPLETED" in text
