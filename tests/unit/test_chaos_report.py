"""The chaos report prints what the run met as text: a problem's brackets are not Rich markup."""

from __future__ import annotations

import pytest

from harness.chaos.run import Report, print_report


def test_a_problem_quoting_brackets_prints_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    # A closing tag with no opening one is what Rich refuses (MarkupError) when it reads markup.
    problem = "order-1: refused: [/bold] not markup [red]"
    report = Report(sagas=1, violations={"an invariant": [problem]})

    print_report(report)

    assert f"an invariant: {problem}" in capsys.readouterr().out
