"""Each invariant of the HTTP chaos run holds for a pharmacy that did right and fails for one that did not.

The record sets are what docs/pharmacy-api.yaml and the saga's rules allow (ids `rx-`, `res-`, `shp-`
+ the order id: lambdas/domain/rules.py; done and undone statuses: pharmacy_reference/records.py),
then broken one way each.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from harness.chaos import pharmacy_invariants as inv
from harness.chaos.at_the_pharmacy import Answered, AtThePharmacy, Compensated
from harness.orders import Kind
from pharmacy_reference.records import Kind as RecordKind
from pharmacy_reference.records import Record

DONE_EVENTS = ["order.prescription_created", "order.inventory_reserved", "order.shipment_initiated"]
REFUSED_SHIPMENT = ["order.shipment_initiation_failed"]
LINES = [{"medication_id": "med-1", "quantity": 2}]
CREATE = {RecordKind.PRESCRIPTION: "createPrescription", RecordKind.RESERVATION: "reserveInventory"}
CREATE[RecordKind.SHIPMENT] = "createShipment"
INJECTED = frozenset({"HTTP 500", "no answer (ReadTimeoutError)", "no answer (ProtocolError)"})
"""What a step's call sees of a 500, a hold past its read timeout and a dropped connection
(lambdas/adapters/pharmacy_calls.py's words, urllib3's exception names)."""
NO_STOCK = Answered(
    "reserveInventory", "res-o-6", "reserveInventory:res-o-6", "body-res-o-6", 409, reason="line 1: not enough stock"
)
"""docs/pharmacy-api.yaml, reserveInventory: a 409 naming the first line without stock."""
CRASHED_AT_THE_SHIPMENT = Compensated(
    "PENDING_SHIPMENT",
    "PharmacyUnavailable",
    False,
    attempts=4,
    calls=("HTTP 500", "no answer (ProtocolError)", "HTTP 500", "no answer (ReadTimeoutError)"),
)
"""Initiate Shipment's 4 attempts (3 retries: infra/saga_workflow.py STEP_RETRY), each meeting a fault."""


def _made(kind: RecordKind, order: str, *, undone: bool = False, **content: Any) -> Record:
    """The record the saga of `order` makes (its content's order id may be changed to break it)."""
    prefix = {RecordKind.PRESCRIPTION: "rx", RecordKind.RESERVATION: "res", RecordKind.SHIPMENT: "shp"}[kind]
    body: dict[str, Any] = {"order_id": order, **content}
    if kind is RecordKind.RESERVATION:
        body.setdefault("lines", LINES)
    return Record(kind, f"{prefix}-{order}", kind.undone if undone else kind.done, body, times_created=1)


def _tombstone(kind: RecordKind, record_id: str) -> Record:
    return Record(kind, record_id, kind.undone)


def _completed(order_id: str) -> list[Record]:
    return [_made(kind, order_id) for kind in RecordKind]


def _arrivals(*records: Record) -> list[tuple[str, str, str]]:
    return [(CREATE[r.kind], r.record_id, f"{CREATE[r.kind]}:{r.record_id}") for r in records]


def _created(record: Record, *, key: str | None = None, body: str | None = None, status: int = 201) -> Answered:
    """The create the pharmacy served for `record`: by default its one key, its one body, done."""
    operation = CREATE[record.kind]
    key = key or f"{operation}:{record.record_id}"
    return Answered(operation, record.record_id, key, body or f"body-{record.record_id}", status)


def _run(**changes: Any) -> AtThePharmacy:
    """A healthy run: o-1 completed (2 units of med-1 reserved of 10), o-2 failed at the shipment
    (refused by the saga's address rules) and undone, o-3 rejected, o-4 refused by the pharmacy's
    warehouse (no stock) and its prescription undone, o-5 refused by the saga's catalogue before
    any request; o-6 valid, its stock ran out at the pharmacy; o-7 valid, its shipment crashed on
    the faults injected and its steps undone (the shipment never made: a tombstone); every key once
    per request, each record created by its first one."""
    records = [*_completed("o-1"), _made(RecordKind.PRESCRIPTION, "o-2", undone=True)]
    records.append(_made(RecordKind.RESERVATION, "o-2", undone=True))
    records.append(_made(RecordKind.PRESCRIPTION, "o-4", undone=True))
    records.append(_made(RecordKind.PRESCRIPTION, "o-6", undone=True))
    records += [_made(kind, "o-7", undone=True) for kind in (RecordKind.PRESCRIPTION, RecordKind.RESERVATION)]
    records.append(_tombstone(RecordKind.SHIPMENT, "shp-o-7"))
    refused_reservation = ("reserveInventory", "res-o-4", "reserveInventory:res-o-4")
    answered = [_created(r) for r in records if r.content is not None]
    answered += [NO_STOCK, replace(NO_STOCK, resource_id="res-o-4", key="reserveInventory:res-o-4")]
    fields: dict[str, Any] = {
        "kinds": {
            "o-1": Kind.VALID,
            "o-2": Kind.UNDELIVERABLE,
            "o-3": Kind.INVALID,
            "o-4": Kind.NO_STOCK,
            "o-5": Kind.UNKNOWN_MED,
            "o-6": Kind.VALID,
            "o-7": Kind.VALID,
        },
        "states": {
            **{"o-1": "COMPLETED", "o-2": "FAILED", "o-3": "REJECTED", "o-4": "FAILED", "o-5": "FAILED"},
            **{"o-6": "FAILED", "o-7": "FAILED"},
        },
        "records": records,
        "arrivals": [
            *_arrivals(*records),
            refused_reservation,
            (NO_STOCK.operation_id, NO_STOCK.resource_id, NO_STOCK.key),
        ],
        "initial_stock": {"med-1": 10},
        "stock": {"med-1": (8, 2)},
        "histories": {
            "o-1": DONE_EVENTS,
            "o-2": [*DONE_EVENTS[:2], *REFUSED_SHIPMENT, "order.inventory_released", "order.prescription_cancelled"],
            "o-3": ["order_fulfillment_saga.rejected"],
            "o-4": [DONE_EVENTS[0], "order.inventory_reservation_failed", "order.prescription_cancelled"],
            "o-5": ["order.prescription_failed"],
            "o-6": [DONE_EVENTS[0], "order.inventory_reservation_failed", "order.prescription_cancelled"],
            "o-7": [*DONE_EVENTS[:2], "order.inventory_released", "order.prescription_cancelled"],
        },
        "answered": answered,
        "compensated": {
            "o-2": Compensated("PENDING_SHIPMENT", "shipping address: country is not serviced", False),
            "o-4": Compensated("PENDING_INVENTORY", NO_STOCK.reason, True),
            "o-5": Compensated("PENDING_PRESCRIPTION", "line 2: medication is not in the catalogue", False),
            "o-6": Compensated("PENDING_INVENTORY", NO_STOCK.reason, True),
            "o-7": CRASHED_AT_THE_SHIPMENT,
        },
        "injected": INJECTED,
    }
    return AtThePharmacy(**{**fields, **changes})


@pytest.mark.parametrize("invariant", list(inv.PHARMACY_INVARIANTS.values()), ids=list(inv.PHARMACY_INVARIANTS))
def test_every_invariant_holds_for_a_pharmacy_that_did_right(invariant: inv.PharmacyInvariant) -> None:
    assert invariant(_run()) == []


def test_a_retry_or_late_arrival_repeating_its_request_is_no_violation() -> None:
    # The same key and body again: the first answer replayed (a concurrent delivery, a retry after a
    # lost answer), or the 409 of a create that arrived after its cancel.
    healthy = _run()
    rx = next(r for r in healthy.records if r.record_id == "rx-o-1")
    again = [replace(_created(rx), status=200, replayed=True), replace(_created(rx), status=409, code="cancelled")]
    assert inv.each_record_created_once_from_one_body(_run(answered=[*healthy.answered, *again])) == []


def test_a_record_created_afresh_under_a_second_key_is_a_violation() -> None:
    # The reference pharmacy holds one record either way (it answers 200, "done again", not a replay);
    # a pharmacy deduplicating by key alone would have made a second prescription.
    healthy = _run()
    rx = next(r for r in healthy.records if r.record_id == "rx-o-1")
    second_key = _created(rx, key="createPrescription:rx-o-1:attempt-2", status=200)
    assert inv.each_record_created_once_from_one_body(_run(answered=[*healthy.answered, second_key])) == [
        "createPrescription rx-o-1: created 2 times (not replays)"
    ]


def test_a_second_body_for_one_record_is_a_violation() -> None:
    # A late arrival built anew, refused (409: the reservation exists with other content) with no one waiting.
    healthy = _run()
    res = next(r for r in healthy.records if r.record_id == "res-o-1")
    other = _created(res, body="another-body", status=409)
    assert inv.each_record_created_once_from_one_body(_run(answered=[*healthy.answered, other])) == [
        "reserveInventory res-o-1: 2 different bodies"
    ]


def test_a_record_no_saga_of_the_run_makes_is_a_violation() -> None:
    stray = [*_run().records, _made(RecordKind.PRESCRIPTION, "o-9")]
    assert inv.each_record_created_once_from_one_body(_run(records=stray)) == [
        "prescription rx-o-9: no saga of the run makes this record"
    ]


def test_records_read_while_requests_are_still_held_are_a_violation() -> None:
    assert inv.each_record_created_once_from_one_body(_run(still_in_flight=True)) == [
        "requests were still in flight at the pharmacy when its records were read"
    ]


def test_a_record_left_active_for_a_failed_saga_is_a_violation() -> None:
    left = [*_run().records[:-1], _made(RecordKind.RESERVATION, "o-2")]
    assert inv.a_compensated_saga_leaves_nothing_created(_run(records=left)) == [
        "o-2: reservation RESERVED after the saga failed"
    ]


def test_a_tombstone_for_a_failed_saga_is_no_violation() -> None:
    # A cancel of what was never created leaves a tombstone: undone, nothing made.
    records = [*_run().records, _tombstone(RecordKind.SHIPMENT, "shp-o-2")]
    assert inv.a_compensated_saga_leaves_nothing_created(_run(records=records)) == []


def test_any_record_of_a_rejected_order_is_a_violation() -> None:
    records = [*_run().records, _tombstone(RecordKind.PRESCRIPTION, "rx-o-3")]
    assert inv.a_compensated_saga_leaves_nothing_created(_run(records=records)) == [
        "o-3: a prescription for a rejected order"
    ]


def test_a_shipment_initiated_for_a_failed_saga_is_a_violation() -> None:
    records = [*_run().records, _made(RecordKind.SHIPMENT, "o-2")]
    assert inv.shipped_exactly_when_completed(_run(records=records)) == ["o-2: shipment INITIATED for a FAILED saga"]


def test_a_completed_saga_missing_or_undone_at_the_pharmacy_is_a_violation() -> None:
    healthy = _run().records
    without_shipment = [r for r in healthy if r.record_id != "shp-o-1"]
    assert inv.shipped_exactly_when_completed(_run(records=without_shipment)) == [
        "o-1: completed without a shipment at the pharmacy"
    ]
    released = [_made(RecordKind.RESERVATION, "o-1", undone=True) if r.record_id == "res-o-1" else r for r in healthy]
    assert inv.shipped_exactly_when_completed(_run(records=released)) == ["o-1: completed, its reservation RELEASED"]
    other = [_made(RecordKind.PRESCRIPTION, "o-1", order_id="o-2") if r.record_id == "rx-o-1" else r for r in healthy]
    assert inv.shipped_exactly_when_completed(_run(records=other)) == [
        "o-1: its prescription was made for another order"
    ]


def test_two_keys_for_one_request_or_one_key_for_two_are_violations() -> None:
    arrivals = _run().arrivals
    retried_with_a_new_key = [*arrivals, ("createPrescription", "rx-o-1", "createPrescription:rx-o-1:retry")]
    assert inv.each_idempotency_key_stable(_run(arrivals=retried_with_a_new_key)) == [
        "createPrescription rx-o-1: 2 different keys"
    ]
    # A cancel sent with its create's key: the pharmacy would replay the create's answer to it.
    shared = [*arrivals, ("cancelPrescription", "rx-o-2", "createPrescription:rx-o-2")]
    assert inv.each_idempotency_key_stable(_run(arrivals=shared)) == [
        "one key for 2 requests: cancelPrescription rx-o-2, createPrescription rx-o-2"
    ]


def test_stock_lost_or_held_by_no_reservation_is_a_violation() -> None:
    assert inv.stock_is_conserved_at_the_pharmacy(_run(stock={"med-1": (7, 2)})) == [
        "med-1: 7 available + 2 reserved != 10 at the start"
    ]
    assert inv.stock_is_conserved_at_the_pharmacy(_run(stock={"med-1": (7, 3)})) == [
        "med-1: 3 reserved, 2 held by reservations"
    ]


def test_an_undo_the_saga_never_announced_is_a_violation() -> None:
    # o-2's reservation was announced reserved and is released at the pharmacy: a subscriber
    # that never hears order.inventory_released believes the stock still held.
    unannounced = {**_run().histories, "o-2": [*DONE_EVENTS[:2], "order.prescription_cancelled"]}
    assert inv.the_saga_tells_what_the_pharmacy_did(_run(histories=unannounced)) == [
        "o-2: reservation RELEASED, the saga announced order.inventory_reserved only"
    ]


def test_an_active_record_the_saga_never_announced_or_took_back_is_a_violation() -> None:
    histories = _run().histories
    never = {**histories, "o-1": DONE_EVENTS[:2]}
    assert inv.the_saga_tells_what_the_pharmacy_did(_run(histories=never)) == [
        "o-1: shipment INITIATED, the saga's events say otherwise"
    ]
    taken_back = {**histories, "o-1": [*DONE_EVENTS, "order.shipment_cancelled"]}
    assert inv.the_saga_tells_what_the_pharmacy_did(_run(histories=taken_back)) == [
        "o-1: shipment INITIATED, the saga's events say otherwise"
    ]


def test_an_undo_of_a_record_never_announced_needs_no_announcement() -> None:
    # A crashed step: its create was done by an attempt whose answer was lost, then undone.
    records = [*_run().records, _made(RecordKind.SHIPMENT, "o-2", undone=True)]
    assert inv.the_saga_tells_what_the_pharmacy_did(_run(records=records)) == []


def test_an_order_ending_otherwise_than_its_kind_says_is_a_violation() -> None:
    states = {**_run().states, "o-1": "REJECTED", "o-2": "COMPLETED", "o-3": "FAILED"}
    assert inv.each_order_ends_as_its_kind_says(_run(states=states)) == [
        "o-1: valid order ended REJECTED",
        "o-2: undeliverable order ended COMPLETED",
        "o-3: invalid order ended FAILED",
    ]


def test_a_valid_order_failed_with_no_reason_recorded_is_a_violation() -> None:
    assert inv.each_order_ends_as_its_kind_says(_run(states={**_run().states, "o-1": "FAILED"})) == [
        "o-1: valid order ended FAILED: its saga recorded no change to COMPENSATING"
    ]


@pytest.mark.parametrize(
    ("why", "said"),
    [
        # Every reservation losing its optimistic-concurrency race: retried, then caught as a crash.
        (
            Compensated("PENDING_INVENTORY", "ConcurrencyConflict", False, attempts=4),
            "compensated in PENDING_INVENTORY on ConcurrencyConflict",
        ),
        (
            Compensated("PENDING_PRESCRIPTION", "PharmacyContractError", False, attempts=1),
            "compensated in PENDING_PRESCRIPTION on PharmacyContractError",
        ),
        # The execution's deadline: no fault the pharmacy makes lasts the 15 minutes.
        (
            Compensated("PENDING_SHIPMENT", "execution TIMED_OUT", False),
            "compensated in PENDING_SHIPMENT on execution TIMED_OUT",
        ),
    ],
    ids=["conflict", "contract error", "execution timed out"],
)
def test_a_valid_order_failed_on_an_error_no_fault_makes_is_a_violation(why: Compensated, said: str) -> None:
    run = _run(compensated={**_run().compensated, "o-7": why})
    assert inv.each_order_ends_as_its_kind_says(run) == [f"o-7: valid order ended FAILED: {said}"]


def test_a_crash_whose_attempts_met_an_answer_no_fault_makes_is_a_violation() -> None:
    # The client reading a 201 as transient: the step crashes on PharmacyUnavailable all the same.
    misread = replace(CRASHED_AT_THE_SHIPMENT, calls=("HTTP 500", "HTTP 201", "HTTP 500", "HTTP 500"))
    assert inv.each_order_ends_as_its_kind_says(_run(compensated={**_run().compensated, "o-7": misread})) == [
        "o-7: valid order ended FAILED: Initiate Shipment crashed on PharmacyUnavailable after 4 attempts"
        " meeting HTTP 500, HTTP 201, HTTP 500, HTTP 500"
    ]
    # An attempt that never reached the pharmacy (a refused connection) is no fault it injected either.
    unreached = replace(CRASHED_AT_THE_SHIPMENT, calls=("HTTP 500", "no answer (NewConnectionError)") * 2)
    assert inv.each_order_ends_as_its_kind_says(_run(compensated={**_run().compensated, "o-7": unreached})) != []
    # Nor does a run whose pharmacy injected no fault explain any crash.
    assert inv.each_order_ends_as_its_kind_says(_run(injected=frozenset())) == [
        "o-7: valid order ended FAILED: Initiate Shipment crashed on PharmacyUnavailable after 4 attempts"
        " meeting HTTP 500, no answer (ProtocolError), HTTP 500, no answer (ReadTimeoutError)"
    ]


def test_a_crash_with_attempts_that_made_no_call_is_a_violation() -> None:
    # 4 attempts, 2 calls: two attempts failed before reaching the pharmacy, on something else.
    partial = replace(CRASHED_AT_THE_SHIPMENT, calls=CRASHED_AT_THE_SHIPMENT.calls[:2])
    assert inv.each_order_ends_as_its_kind_says(_run(compensated={**_run().compensated, "o-7": partial})) == [
        "o-7: valid order ended FAILED: Initiate Shipment crashed on PharmacyUnavailable after 4 attempts"
        " meeting HTTP 500, no answer (ProtocolError)"
    ]


def test_a_valid_order_refused_otherwise_than_for_stock_is_a_violation() -> None:
    healthy = _run()
    # Refused by the pharmacy's catalogue: a valid order names only catalogued medications within
    # their maxima; the reason (the pharmacy's words) is not repeated.
    at_prescription = Compensated("PENDING_PRESCRIPTION", "line 1: quantity 3 is above the maximum", True)
    refused = _run(
        compensated={**healthy.compensated, "o-6": at_prescription},
        histories={**healthy.histories, "o-6": ["order.prescription_failed"]},
    )
    assert inv.each_order_ends_as_its_kind_says(refused) == [
        "o-6: valid order ended FAILED: refused in PENDING_PRESCRIPTION"
    ]
    # Refused at the reservation, but the pharmacy's answer was not a stock refusal: its 409 for a
    # body other than the one it holds, or no refusal at all in its log.
    other_content = replace(NO_STOCK, reason="the reservation exists with other content")
    no_refusal = [a for a in healthy.answered if a != NO_STOCK]
    for answered in ([*no_refusal, other_content], no_refusal):
        assert inv.each_order_ends_as_its_kind_says(_run(answered=answered)) == [
            "o-6: valid order ended FAILED: refused in PENDING_INVENTORY, not for want of stock at the pharmacy"
        ]


def test_a_refused_kind_failing_anywhere_but_at_its_own_refusal_or_the_faults_is_a_violation() -> None:
    healthy = _run()
    # o-4 (no stock) refused at the prescription: the pharmacy's stock was never put to the test.
    at_prescription = _run(
        compensated={**healthy.compensated, "o-4": Compensated("PENDING_PRESCRIPTION", "line 1: quantity", True)},
        histories={**healthy.histories, "o-4": ["order.prescription_failed"]},
    )
    # o-2 (undeliverable) compensated on an event-store conflict before it reached the shipment.
    conflict = Compensated("PENDING_INVENTORY", "ConcurrencyConflict", False, attempts=4)
    crashed = _run(
        compensated={**healthy.compensated, "o-2": conflict},
        histories={**healthy.histories, "o-2": [DONE_EVENTS[0], "order.prescription_cancelled"]},
    )
    assert inv.each_order_ends_as_its_kind_says(at_prescription) == [
        "o-4: no-stock order ended FAILED: refused in PENDING_PRESCRIPTION"
    ]
    assert inv.each_order_ends_as_its_kind_says(crashed) == [
        "o-2: undeliverable order ended FAILED: compensated in PENDING_INVENTORY on ConcurrencyConflict"
    ]


def test_an_undeliverable_order_whose_stock_ran_out_first_is_no_violation_unless_the_pharmacy_said_otherwise() -> None:
    # Found by a 1,000-saga run: late in the run the stock (two thirds of the demand) runs out, and an
    # undeliverable order is refused at the reservation before its address is ever put to the test.
    healthy = _run()
    out_of_stock = replace(NO_STOCK, resource_id="res-o-2", key="reserveInventory:res-o-2")
    refused = Compensated("PENDING_INVENTORY", NO_STOCK.reason, True)
    at_the_reservation = _run(
        compensated={**healthy.compensated, "o-2": refused},
        histories={**healthy.histories, "o-2": [DONE_EVENTS[0], "order.inventory_reservation_failed"]},
    )
    assert inv.each_order_ends_as_its_kind_says(at_the_reservation) == [
        "o-2: undeliverable order ended FAILED: refused in PENDING_INVENTORY, not for want of stock at the pharmacy"
    ]
    with_the_refusal = replace(at_the_reservation, answered=[*healthy.answered, out_of_stock])
    assert inv.each_order_ends_as_its_kind_says(with_the_refusal) == []


def test_a_refused_kind_crashed_by_the_faults_before_its_own_step_is_no_violation() -> None:
    healthy = _run()
    before_the_shipment = replace(CRASHED_AT_THE_SHIPMENT, from_state="PENDING_INVENTORY")
    crashed = _run(
        compensated={**healthy.compensated, "o-2": before_the_shipment},
        histories={**healthy.histories, "o-2": [DONE_EVENTS[0], "order.prescription_cancelled"]},
    )
    assert inv.each_order_ends_as_its_kind_says(crashed) == []


def test_a_prescription_of_an_unknown_medication_or_a_shipment_to_an_undeliverable_address_is_a_violation() -> None:
    made = [
        *_run().records,
        _made(RecordKind.PRESCRIPTION, "o-5", undone=True),
        _made(RecordKind.SHIPMENT, "o-2", undone=True),
    ]
    assert inv.each_business_refusal_holds_at_the_pharmacy(_run(records=made)) == [
        "o-2: a shipment was made to an undeliverable address",
        "o-5: a prescription was made with an unknown medication",
    ]


def test_an_unknown_medication_refused_by_the_pharmacy_itself_is_no_violation() -> None:
    # Sent, and refused there (422: nothing made): the rule holds, whoever applied it.
    sent = [*_run().arrivals, ("createPrescription", "rx-o-5", "createPrescription:rx-o-5")]
    assert inv.each_business_refusal_holds_at_the_pharmacy(_run(arrivals=sent)) == []


def test_no_stock_not_asked_of_the_pharmacy_or_reserved_by_it_is_a_violation() -> None:
    never_asked = [a for a in _run().arrivals if a[1] != "res-o-4"]
    assert inv.each_business_refusal_holds_at_the_pharmacy(_run(arrivals=never_asked)) == [
        "o-4: no stock, and the pharmacy was never asked"
    ]
    reserved = [*_run().records, _made(RecordKind.RESERVATION, "o-4", undone=True)]
    assert inv.each_business_refusal_holds_at_the_pharmacy(_run(records=reserved)) == [
        "o-4: no stock, and the pharmacy reserved it"
    ]
