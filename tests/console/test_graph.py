"""The path read from an execution history and the graph drawn from a definition, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from harness.execution_path import CAUGHT, END, FAILED, IN_PROGRESS, NOT_REACHED, START, SUCCEEDED, read_path
from saga_console.graph import layout, svg

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

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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
    drawn = svg(DEFINITION, path)
    assert "caught OutOfStock" in drawn
    assert 'data-state="Reserve" data-outcome="caught" data-retries="2"' in drawn


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


def test_every_edge_points_down_and_no_two_states_share_a_place() -> None:
    place = layout(DEFINITION)
    assert len(set(place.values())) == len(place)
    assert place[START][1] < place["Reserve"][1] < place["Ship"][1] < place["Release"][1] < place["Failed"][1]
    assert place["Reserve"][0] == place["Ship"][0] == 0, "the business process is the left column"
    assert place["Release"][0] > 0
