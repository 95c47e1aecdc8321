"""The HTTP chaos run at CI size (make chaos runs 1,000): every step over HTTP against a reference
pharmacy that answers 500, holds requests past the client's timeout, drops answers after the work
and answers slowly, while orders arrive one to three times; the invariants read its own records."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness import queries
from harness.chaos import over_http
from harness.chaos import run as chaos
from harness.chaos.pharmacy_invariants import PHARMACY_INVARIANTS
from harness.pharmacy_api import deployed_over_http
from lambdas.domain import events as ev
from pharmacy_reference.faults import Faults
from pharmacy_reference.records import Kind as RecordKind

SAGAS = 120
SEED = 11
"""The pharmacy draws its faults from one sequence seeded by the run, in arrival order: whichever
requests meet them, its first 250 draws hold 13 500s, 6 holds and 5 drops (these 120 sagas make
over 300 requests), so the faults happen on every run."""
LOST_UNDO_ANNOUNCEMENT = "the saga's domain events tell what the pharmacy did"
"""The invariant a product defect breaks (test_a_cancel_whose_answer_was_lost_is_still_announced)."""


@pytest.fixture(scope="module")
def report() -> chaos.Report:
    found = over_http.run(SAGAS, seed=SEED)
    chaos.print_report(found)
    return found


def test_every_saga_settles_and_orders_arrived_more_than_once(report: chaos.Report) -> None:
    assert report.unfinished == []
    assert sum(report.final_states.values()) == SAGAS
    assert report.duplicates > 0
    # Each kind of order was sent: valid ones complete, refused ones fail, invalid ones are rejected.
    assert {"COMPLETED", "FAILED", "REJECTED"} <= set(report.final_states)


def test_the_pharmacy_really_misbehaved_and_the_steps_met_it(report: chaos.Report) -> None:
    faults = report.faults
    assert faults["pharmacy: HTTP 500"] > 0
    assert faults["pharmacy: held past the client's timeout"] > 0
    assert faults["pharmacy: response dropped after the work"] > 0
    # Every hold outlasts the client's read timeout: each is a timeout the steps saw, then a late arrival.
    assert faults["steps saw: no answer (ReadTimeoutError)"] >= faults["pharmacy: held past the client's timeout"]
    assert faults["steps saw: HTTP 500"] == faults["pharmacy: HTTP 500"]


def test_every_invariant_holds_but_the_one_a_known_product_defect_breaks(report: chaos.Report) -> None:
    assert set(PHARMACY_INVARIANTS) <= set(report.violations), "the pharmacy's invariants were checked"
    broken = {name: problems[:3] for name, problems in report.violations.items() if problems}
    assert {name: problems for name, problems in broken.items() if name != LOST_UNDO_ANNOUNCEMENT} == {}
    # What the defect breaks, and nothing else under that name: an undo announced nowhere.
    assert all("the saga announced" in problem for problem in report.violations[LOST_UNDO_ANNOUNCEMENT])


DROPS_THE_THIRD_ANSWER = 25
"""With drop_rate 0.5, the seed whose 1st, 2nd and 4th draws keep their answer and the 3rd drops it."""


@dataclass(frozen=True)
class LostUndo:
    stream: list[str]
    records: dict[str, str]
    arrived: list[str]


@pytest.fixture(scope="module")
def lost_undo() -> LostUndo:
    """One no-stock order, its requests in turn: createPrescription (201), reserveInventory (409: no
    stock at the pharmacy), cancelPrescription (done, its answer lost), cancelPrescription again
    (the first answer, replayed): its saga's stream, the pharmacy's records, the operations that arrived."""
    with deployed_over_http(faults=Faults(drop_rate=0.5, seed=DROPS_THE_THIRD_ANSWER)) as (cloud, served):
        cloud.put_order({"order_id": "lost-undo-1", "patient_id": "patient-1", "medications": ["med-scarce"]})
        assert cloud.wait_for_sagas(["lost-undo-1"]) == {"lost-undo-1": "FAILED"}
        assert served.traffic.wait_idle(over_http.LATE_ARRIVALS_WAIT_SECONDS)
        return LostUndo(
            stream=[e.type for e in queries.history(cloud, "lost-undo-1")],
            records={r.kind.label: r.status for r in served.pharmacy.records()},
            arrived=[operation for operation, _, _ in served.pharmacy.arrivals()],
        )


def test_a_cancel_whose_answer_is_lost_is_sent_again_and_undoes_once(lost_undo: LostUndo) -> None:
    assert lost_undo.arrived == ["createPrescription", "reserveInventory", "cancelPrescription", "cancelPrescription"]
    assert lost_undo.records == {RecordKind.PRESCRIPTION.label: RecordKind.PRESCRIPTION.undone}
    assert ev.PrescriptionCreated.TYPE_KEY in lost_undo.stream


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="product defect: the retry of a cancel whose answer was lost gets the first answer replayed, "
    "lambdas/adapters/pharmacy_http.py _cancel then reports had_effect=False, and lambdas/domain/saga.py "
    "record_compensation emits no PrescriptionCancelled (InventoryReleased, ShipmentCancelled) although "
    "the saga announced the record made and the pharmacy undid it",
)
def test_a_cancel_whose_answer_was_lost_is_still_announced(lost_undo: LostUndo) -> None:
    # Subscribers told of the prescription hear that it is cancelled (the pharmacy's record is).
    assert ev.PrescriptionCancelled.TYPE_KEY in lost_undo.stream
