"""The chaos run at CI size (make chaos runs 2,000): every invariant holds under faults and duplicates."""

from __future__ import annotations

import pytest

from harness.chaos import run as chaos


def test_two_hundred_sagas_with_faults_and_duplicates_keep_every_invariant() -> None:
    report = chaos.run(200, seed=11)
    chaos.print_report(report)
    assert report.violations, "the invariants were checked"
    assert {k: v[:3] for k, v in report.violations.items() if v} == {}
    assert sum(report.final_states.values()) == 200
    assert report.duplicates > 0
    assert report.faults["InjectedTransientFault"] > 0


def test_sagas_unfinished_at_the_timeout_are_counted_as_violations_and_the_table_still_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = chaos.run(6, seed=3, timeout=0.0)
    chaos.print_report(report)
    first = next(iter(report.violations))
    assert report.unfinished, "a zero wait leaves sagas running"
    assert len(report.violations[first]) >= len(report.unfinished)
    assert not report.ok
    assert "unfinished after the wait" in capsys.readouterr().out
