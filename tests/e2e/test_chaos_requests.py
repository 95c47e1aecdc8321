"""The requests chaos run at CI size (make chaos runs 500): sagas waiting for a pharmacist, under the fault
plan, with answers of every kind and cancellations at random moments; every invariant holds."""

from __future__ import annotations

from harness.chaos import requests
from harness.chaos import run as chaos
from harness.chaos.request_invariants import REQUEST_INVARIANTS

SAGAS = 60
SEED = 11


def test_sixty_sagas_with_answers_cancellations_and_faults_keep_every_invariant() -> None:
    report = requests.run(SAGAS, seed=SEED)
    chaos.print_report(report)

    assert set(REQUEST_INVARIANTS) <= set(report.violations), "the requests' invariants were checked"
    assert {name: problems[:3] for name, problems in report.violations.items() if problems} == {}
    assert report.unfinished == []
    # Every order ended, and the run reached each way a saga ends here (an id with no order stays kept).
    ended = {state: count for state, count in report.final_states.items() if "(no order)" not in state}
    assert sum(ended.values()) == SAGAS
    assert {"COMPLETED", "FAILED", "CANCELLED"} <= set(ended)
    assert report.final_states["ORDER_NOT_RECEIVED (no order)"] >= 1
    # Each scenario was sent (figures: kind: scenario) and each kind of outcome the domain gives was met.
    sent = {scenario.partition(": ")[2] for scenario in report.figures}
    assert set(requests.SCENARIOS) <= sent
    outcomes = set(report.requests)
    assert {"verified: applied", "rejected: applied", "cancel: applied"} <= outcomes
    assert "cancel: refused: the shipment is out: the saga completed" in outcomes
    assert "cancel: kept for its order" in outcomes
    assert any(o.endswith("it came after the verification deadline") for o in outcomes)
    assert any(o.endswith("(no order)") for o in outcomes)
    # The faults were on.
    assert report.faults["InjectedTransientFault"] > 0
