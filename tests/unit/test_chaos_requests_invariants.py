"""Each invariant of the requests chaos run holds on a run that did right, and fails on a crafted violation.

The streams are made by the saga aggregate itself (lambdas/domain/saga.py), command by command, each
command's events stored under the message or execution that caused it; the projection rows are a
replay of them (lambdas/logic/project.py). A violation is then one change a defect would make.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.chaos import request_invariants as inv
from harness.chaos.request_invariants import RequestsRun, Sent
from lambdas.domain import events as ev
from lambdas.domain.order import OrderCreated
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import Compensation, SagaState, Step
from lambdas.logic.project import replay

T0 = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
DEADLINE = 9000.0
"""The saga's own deadline (150 minutes) ..."""
TIMER = 9.0
"""... which the local cloud's timer lets pass in 9 s."""
REJECTED_BECAUSE = "interacts with another medication"
CANCELLED_BECAUSE = "the patient moved pharmacy"


class Stream:
    """One saga's stream, written by the aggregate: each command's events under their cause, at a time."""

    def __init__(self, order_id: str) -> None:
        self.saga = OrderFulfillmentSaga(order_id)
        self.events: list[ev.StoredEvent] = []

    def do(self, cause: str, at: float, command: Callable[[OrderFulfillmentSaga], Any]) -> Stream:
        command(self.saga)
        for event in self.saga.take_new_events():
            self.events.append(
                ev.new_stored_event(
                    event,
                    stream_id=f"saga-{self.saga.order_id}",
                    version=len(self.events) + 1,
                    causation_id=cause,
                    source="test",
                    occurred_at=T0 + timedelta(seconds=at),
                )
            )
        return self

    def waiting(self) -> Stream:
        """Started, its prescription made, waiting for a pharmacist from T0 until T0 + DEADLINE."""
        order = OrderCreated.model_validate(
            {"order_id": self.saga.order_id, "patient_id": "p-1", "medications": [{"medication_id": "med-1"}]}
        )
        self.do("start", 0, lambda s: s.start(order, verification_required=True))
        self.do("exec", 0, lambda s: s.record_prescription_created(f"rx-{s.order_id}"))
        return self.do("exec", 0, lambda s: s.record_verification_requested(T0 + timedelta(seconds=DEADLINE)))

    def shipped(self, at: float) -> Stream:
        self.do("exec", at, lambda s: s.record_inventory_reserved(f"res-{s.order_id}"))
        return self.do("exec", at, lambda s: s.record_shipment_initiated(f"sh-{s.order_id}", "address on file"))

    def undone(self, at: float, *compensations: Compensation) -> Stream:
        for compensation in compensations:
            self.compensate(at, compensation)
        return self

    def compensate(self, at: float, compensation: Compensation, reason: str | None = None) -> Stream:
        return self.do("exec", at, lambda s: s.record_compensation(compensation, had_effect=True, reason=reason))


def _record(order_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"order_id": {"S": order_id}, "status": {"S": status}, **{k: {"S": v} for k, v in extra.items()}}


def _lines(quantity: int) -> str:
    return json.dumps([{"medication_id": "med-1", "quantity": quantity}])


UNDO_PRESCRIPTION = (Compensation.CANCEL_PRESCRIPTION, Compensation.CANCEL_ORDER)


def _streams() -> dict[str, Stream]:
    """A run that did right: verified in time and shipped (a cancellation after it refused), rejected,
    cancelled while waiting, left unanswered (overdue), and an answer for an id with no order."""
    shipped = Stream("ok").waiting()
    shipped.do("m-verify", 1, lambda s: s.answer_verification("verified", "ph", T0)).shipped(2)
    shipped.do("m-late-cancel", 3, lambda s: s.request_cancellation(CANCELLED_BECAUSE, requested_by="bus"))
    rejected = Stream("no").waiting()
    rejected.do("m-reject", 1, lambda s: s.answer_verification("rejected", "ph", T0, REJECTED_BECAUSE))
    rejected.undone(2, *UNDO_PRESCRIPTION)
    cancelled = Stream("gone").waiting()
    cancelled.do("m-cancel", 1, lambda s: s.request_cancellation(CANCELLED_BECAUSE, requested_by="bus"))
    cancelled.undone(2, *UNDO_PRESCRIPTION)
    cancelled.do("m-after", 3, lambda s: s.answer_verification("verified", "ph", T0))
    overdue = Stream("mute").waiting()
    overdue.do("exec", TIMER, lambda s: s.record_verification_overdue(T0)).undone(TIMER, *UNDO_PRESCRIPTION)
    ghost = Stream("ghost").do("m-ghost", 1, lambda s: s.answer_verification("rejected", "ph", T0, "no such order"))
    return {s.saga.order_id: s for s in (shipped, rejected, cancelled, overdue, ghost)}


SENT = [
    Sent("ok", "verified", "while it waits"),
    Sent("ok", "cancel", "after it ended", CANCELLED_BECAUSE),
    Sent("no", "rejected", "while it waits", REJECTED_BECAUSE),
    Sent("gone", "cancel", "while waiting", CANCELLED_BECAUSE),
    Sent("gone", "verified", "after its deadline"),
    Sent("ghost", "rejected", "for an order that never comes", "no such order"),
]


def _run(streams: dict[str, Stream] | None = None, **changes: Any) -> RequestsRun:
    streams = streams or _streams()
    histories = {order_id: stream.events for order_id, stream in streams.items()}
    fields: dict[str, Any] = {
        "order_ids": ["ok", "no", "gone", "mute"],
        "ghost_ids": ["ghost"],
        "views": replay(e for events in histories.values() for e in events),
        "unfinished": [],
        "sent": list(SENT),
        "histories": histories,
        "records": {
            "Prescriptions": [
                _record("ok", "ACTIVE"),
                _record("no", "CANCELLED"),
                _record("gone", "CANCELLED"),
                _record("mute", "CANCELLED"),
            ],
            "Reservations": [_record("ok", "RESERVED", lines=_lines(2))],
            "Shipments": [_record("ok", "INITIATED")],
        },
        "initial_stock": {"med-1": 10},
        "stock": {"med-1": (8, 2)},
        "plan": {"seed": 1},
        "timer_seconds": TIMER,
        "deadline_seconds": DEADLINE,
    }
    return RequestsRun(**{**fields, **changes})


def _with_state(run: RequestsRun, order_id: str, state: SagaState, **row: Any) -> RequestsRun:
    views = dict(run.views)
    views[order_id] = views[order_id].model_copy(update={"state": state, **row})
    return _run(views=views)


@pytest.mark.parametrize("invariant", list(inv.REQUEST_INVARIANTS.values()), ids=list(inv.REQUEST_INVARIANTS))
def test_every_invariant_holds_on_a_run_that_did_right(invariant: inv.RequestInvariant) -> None:
    run = _run()
    assert {o: run.state(o) for o in [*run.order_ids, *run.ghost_ids]} == {
        "ok": "COMPLETED",
        "no": "FAILED",
        "gone": "CANCELLED",
        "mute": "FAILED",
        "ghost": "ORDER_NOT_RECEIVED",
    }, "the aggregate ended each saga as the domain says"
    assert invariant(run) == []


# --- a cancelled or failed saga leaves nothing made; stock conserved ------------------------------


def test_a_prescription_left_active_for_a_cancelled_saga_is_a_violation() -> None:
    run = _run()
    run.records["Prescriptions"] = [
        _record("gone", "ACTIVE") if r["order_id"]["S"] == "gone" else r for r in run.records["Prescriptions"]
    ]
    assert inv.a_cancelled_or_failed_saga_leaves_nothing_made(run) == [
        "Prescriptions: gone CANCELLED keeps a record ACTIVE"
    ]


def test_a_reservation_kept_by_a_failed_saga_or_for_no_order_breaks_the_stock_too() -> None:
    run = _run(stock={"med-1": (7, 3)})
    run.records["Reservations"].append(_record("mute", "RESERVED", lines=_lines(1)))
    problems = inv.a_cancelled_or_failed_saga_leaves_nothing_made(run)
    assert problems[0] == "Reservations: mute FAILED keeps a record RESERVED"
    assert len(problems) == 1, "3 reserved, 3 held: the stock adds up; the reservation is what is wrong"
    lost = inv.a_cancelled_or_failed_saga_leaves_nothing_made(_run(stock={"med-1": (7, 2)}))
    assert lost == ["med-1: 7 available + 2 reserved != 10 at the start"]


# --- no cancellation undoes a shipment ---------------------------------------------------------------


def test_a_shipment_cancelled_after_completion_is_a_violation() -> None:
    run = _run()
    run.records["Shipments"] = [_record("ok", "CANCELLED")]
    assert inv.no_cancellation_undoes_a_shipment(run) == ["ok: shipment initiated, no shipment INITIATED"]


def test_a_cancellation_accepted_after_completion_is_a_violation() -> None:
    streams = _streams()
    ok = streams["ok"]
    # What a defect would store: a cancellation the aggregate refuses (it records CancellationRefused).
    accepted = ev.CancellationRequested(order_id="ok", reason=CANCELLED_BECAUSE, requested_by="bus")
    ok.events.append(
        ev.new_stored_event(accepted, stream_id="saga-ok", version=len(ok.events) + 1, causation_id="m-x", source="t")
    )
    problems = inv.no_cancellation_undoes_a_shipment(_run(streams))
    assert problems == [f"ok: ['{ev.CancellationRequested.TYPE_KEY}'] after its completion"]


def test_a_shipped_saga_not_completed_is_a_violation() -> None:
    run = _with_state(_run(), "ok", SagaState.CANCELLED)
    assert inv.no_cancellation_undoes_a_shipment(run) == ["ok: shipment initiated, saga CANCELLED"]


# --- every request recorded once ---------------------------------------------------------------------


def test_a_request_sent_and_never_recorded_is_a_violation() -> None:
    run = _run(sent=[*SENT, Sent("no", "cancel", "twice", CANCELLED_BECAUSE)])
    assert inv.every_request_is_accounted_for(run) == ["no: 1 cancel sent, 0 recorded"]


def test_one_message_recorded_applied_and_again_ignored_is_a_violation() -> None:
    # What the chaos run found (a redelivered answer after a failed SendTaskSuccess): one message, two records.
    streams = _streams()
    streams["ok"].do("m-verify", 2, lambda s: s.answer_verification("verified", "ph", T0))
    problems = inv.every_request_is_accounted_for(_run(streams))
    assert problems == [
        "ok: message m-verify recorded 2 times: "
        "[('verified', 'applied'), ('verified', 'ignored: the prescription was verified already')]"
    ]


def test_an_id_with_no_order_that_shows_another_state_is_a_violation() -> None:
    run = _with_state(_run(), "ghost", SagaState.CANCELLED)
    assert inv.every_request_is_accounted_for(run) == ["ghost: no order sent, saga CANCELLED"]


def test_outcomes_count_each_message_once_by_kind_and_what_became_of_it() -> None:
    assert inv.outcomes(_run()) == {
        "verified: applied": 1,
        "cancel: refused: the shipment is out: the saga completed": 1,
        "rejected: applied": 1,
        "cancel: applied": 1,
        "verified: ignored: the saga is CANCELLED, not waiting for a pharmacist": 1,
        "rejected: ignored: no order was received under this id (no order)": 1,
    }


# --- each saga ends as its answers and cancellation decide ----------------------------------------


def test_a_verified_saga_failed_without_a_refusal_or_a_fault_is_a_violation() -> None:
    run = _with_state(_run(), "ok", SagaState.FAILED)
    assert inv.each_saga_ends_as_its_requests_decide(run) == [
        "ok: verified before its deadline, saga FAILED unexplained"
    ]


def test_a_verified_saga_failed_on_an_injected_crash_or_a_refusal_is_no_violation() -> None:
    crashed = Stream("ok").waiting()
    crashed.do("m-verify", 1, lambda s: s.answer_verification("verified", "ph", T0))
    # Reserve Inventory crashed on its permanent fault: its state machine catches it and undoes from there.
    crashed.compensate(2, Compensation.RELEASE_INVENTORY, "InjectedPermanentFault").undone(2, *UNDO_PRESCRIPTION)
    refused = Stream("ok").waiting()
    refused.do("m-verify", 1, lambda s: s.answer_verification("verified", "ph", T0))
    refused.do("exec", 2, lambda s: s.record_step_failed(Step.RESERVE_INVENTORY, "no stock"))
    refused.undone(2, *UNDO_PRESCRIPTION)
    for ok in (crashed, refused):
        run = _run({**_streams(), "ok": ok})
        assert run.state("ok") == "FAILED"
        assert inv.each_saga_ends_as_its_requests_decide(run) == []


def test_a_verification_recorded_as_the_timer_fired_may_end_overdue() -> None:
    # Recorded 1 s before the timer (within the grace): SendTaskSuccess may come after the timer fired,
    # and the domain lets the timer decide (record_verification_overdue).
    raced = Stream("ok").waiting()
    raced.do("m-verify", TIMER - 1, lambda s: s.answer_verification("verified", "ph", T0))
    raced.do("exec", TIMER, lambda s: s.record_verification_overdue(T0)).undone(TIMER, *UNDO_PRESCRIPTION)
    run = _run({**_streams(), "ok": raced})
    assert run.state("ok") == "FAILED"
    assert inv.each_saga_ends_as_its_requests_decide(run) == []


def test_a_rejected_saga_failed_for_another_reason_or_completed_is_a_violation() -> None:
    other = _with_state(_run(), "no", SagaState.FAILED, failure_reason="something else")
    assert inv.each_saga_ends_as_its_requests_decide(other) == [
        "no: rejected, failed for another reason than the pharmacist's"
    ]
    completed = _with_state(_run(), "no", SagaState.COMPLETED)
    assert inv.each_saga_ends_as_its_requests_decide(completed) == ["no: rejected, saga COMPLETED"]


def test_an_unanswered_saga_not_failed_as_overdue_is_a_violation() -> None:
    run = _run({**_streams(), "mute": Stream("mute").waiting()})
    assert inv.each_saga_ends_as_its_requests_decide(run) == [
        "mute: verification requested, no decision recorded (saga PENDING_VERIFICATION)"
    ]
    completed = _with_state(_run(), "mute", SagaState.COMPLETED)
    assert inv.each_saga_ends_as_its_requests_decide(completed) == ["mute: overdue, saga COMPLETED"]


def test_an_accepted_cancellation_that_does_not_end_cancelled_with_its_reason_is_a_violation() -> None:
    failed = _with_state(_run(), "gone", SagaState.FAILED)
    assert inv.each_saga_ends_as_its_requests_decide(failed) == ["gone: cancellation accepted, saga FAILED"]
    reason = _with_state(_run(), "gone", SagaState.CANCELLED, failure_reason="failed")
    assert inv.each_saga_ends_as_its_requests_decide(reason) == [
        "gone: cancelled, its failure reason is not the cancellation's"
    ]


# --- nothing stuck -------------------------------------------------------------------------------------


def test_a_saga_still_waiting_unfinished_or_parked_without_a_fault_is_a_violation() -> None:
    waiting = _with_state(_run(), "mute", SagaState.PENDING_VERIFICATION)
    assert inv.nothing_is_stuck(waiting) == ["mute: PENDING_VERIFICATION"]
    assert inv.nothing_is_stuck(_run(unfinished=["mute"])) == ["mute: unfinished after the wait"]
    parked = Stream("mute").waiting()
    parked.do("exec", TIMER, lambda s: s.record_verification_overdue(T0))
    parked.do("exec", TIMER, lambda s: s.record_compensation_failed(Compensation.CANCEL_PRESCRIPTION, "Boom", None))
    run = _run({**_streams(), "mute": parked})
    assert inv.nothing_is_stuck(run) == ["mute: parked at cancel_prescription without a permanent fault"]


def test_an_id_with_no_order_and_no_row_is_a_violation() -> None:
    views = dict(_run().views)
    del views["ghost"]
    assert inv.nothing_is_stuck(_run(views=views)) == ["ghost: None"]


def test_an_overdue_saga_parked_before_its_verdict_was_recorded_is_a_violation() -> None:
    # What the 500-saga run found: the timer fired, Cancel Prescription failed on every attempt, and the
    # saga was parked (record_compensation_failure) with no PrescriptionVerificationOverdue on its stream.
    parked = Stream("mute").waiting()
    parked.do(
        "exec",
        TIMER,
        lambda s: s.record_compensation_failed(Compensation.CANCEL_PRESCRIPTION, "InjectedPermanentFault", None),
    )
    run = _run({**_streams(), "mute": parked})
    assert inv.each_saga_ends_as_its_requests_decide(run) == [
        "mute: verification requested, no decision recorded (saga COMPENSATION_FAILED)"
    ]
