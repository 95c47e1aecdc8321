"""The chaos run at CI size (make chaos runs 2,000): every invariant holds under faults and duplicates."""

from __future__ import annotations

from localcloud import chaos


def test_two_hundred_sagas_with_faults_and_duplicates_keep_every_invariant() -> None:
    report = chaos.run(200, seed=11)
    chaos.print_report(report)
    assert report.violations, "the invariants were checked"
    assert {k: v[:3] for k, v in report.violations.items() if v} == {}
    assert sum(report.final_states.values()) == 200
    assert report.duplicates > 0
    assert report.faults["InjectedTransientFault"] > 0
