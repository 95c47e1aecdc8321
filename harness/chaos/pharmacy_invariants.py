"""What must hold at the pharmacy after a chaos run over HTTP, read from the pharmacy's own records.

Each invariant takes what the run left (`AtThePharmacy`: plain data, so a test can hand it any
record set) and returns its violations (empty: it holds). A violation names an order id, a
record id, an operationId or a medication id, never a record's content (patient data).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

from harness.chaos.at_the_pharmacy import RECORD_ID, Answered, AtThePharmacy
from harness.chaos.invariants import stock_problems
from harness.orders import Kind
from lambdas.domain import events as ev
from lambdas.domain import rules
from lambdas.domain.errors import PharmacyUnavailable
from lambdas.domain.states import SagaState, Step
from pharmacy_reference.records import Kind as RecordKind

CREATED_EVENT: Mapping[RecordKind, str] = {
    RecordKind.PRESCRIPTION: ev.PrescriptionCreated.TYPE_KEY,
    RecordKind.RESERVATION: ev.InventoryReserved.TYPE_KEY,
    RecordKind.SHIPMENT: ev.ShipmentInitiated.TYPE_KEY,
}
UNDONE_EVENT: Mapping[RecordKind, str] = {
    RecordKind.PRESCRIPTION: ev.PrescriptionCancelled.TYPE_KEY,
    RecordKind.RESERVATION: ev.InventoryReleased.TYPE_KEY,
    RecordKind.SHIPMENT: ev.ShipmentCancelled.TYPE_KEY,
}
"""What the saga's stream says when it did, or undid, each kind of record."""

STOCK_REFUSAL = re.compile(r"line [0-9]+: not enough stock")
"""The reason of reserveInventory's 409 when a line lacks stock (docs/pharmacy-api.yaml, reserveInventory)."""
STEP_PENDING_IN: Mapping[str, Step] = {step.pending_state.value: step for step in Step}


PharmacyInvariant = Callable[[AtThePharmacy], list[str]]


def each_record_created_once_from_one_body(run: AtThePharmacy) -> list[str]:
    """Each record is created by one request: every other create the pharmacy served for it repeats that
    request's Idempotency-Key (its answer replayed) and its body; and only for an order of the run, under
    the id its saga gives it.

    It protects against a saga whose retries, redeliveries or late arrivals are new requests rather
    than the same one again: a key made anew per attempt, a body built anew that differs. The reference
    pharmacy also deduplicates by resource id, so its own records can never show a second create; its
    request log can: a create it accepted afresh (2xx, not a replay) for a resource it already held is
    one that a pharmacy deduplicating by key, as the contract allows, would have made twice; a second
    body is one it refused, silently when it came late and nobody was waiting for the answer."""
    creates: dict[tuple[str, str], list[Answered]] = {}
    for answer in run.answered:
        if answer.body is not None:
            creates.setdefault((answer.operation_id, answer.resource_id), []).append(answer)
    problems = []
    for (operation_id, resource_id), served in sorted(creates.items()):
        fresh = [a for a in served if 200 <= a.status <= 299 and not a.replayed]
        if len(fresh) > 1:
            problems.append(f"{operation_id} {resource_id}: created {len(fresh)} times (not replays)")
        if len({a.body for a in served}) > 1:
            problems.append(f"{operation_id} {resource_id}: {len({a.body for a in served})} different bodies")
    problems += [
        f"{r.kind.label} {r.record_id}: no saga of the run makes this record"
        for r in run.records
        if (r.kind, r.record_id) not in run.order_of
    ]
    if run.still_in_flight:
        problems.append("requests were still in flight at the pharmacy when its records were read")
    return problems


def a_compensated_saga_leaves_nothing_created(run: AtThePharmacy) -> list[str]:
    """Every record of a FAILED saga is undone or a tombstone; a REJECTED order ran no step, so has none."""
    problems = [
        f"{order_id}: {record.kind.label} {record.status} after the saga failed"
        for order_id, record in run.records_of(SagaState.FAILED)
        if record.status != record.kind.undone
    ]
    problems += [
        f"{order_id}: a {record.kind.label} for a rejected order"
        for order_id, record in run.records_of(SagaState.REJECTED)
    ]
    return problems


def shipped_exactly_when_completed(run: AtThePharmacy) -> list[str]:
    """Nothing shipped for a saga that did not complete; a COMPLETED saga has its prescription active,
    its reservation held and its shipment initiated, each made for that order."""
    problems = [
        f"{order_id}: shipment {record.status} for a {run.states[order_id]} saga"
        for order_id, record in run.records_of(*(s for s in SagaState if s is not SagaState.COMPLETED))
        if record.kind is RecordKind.SHIPMENT and record.status == RecordKind.SHIPMENT.done
    ]
    held = {(record.kind, record.record_id): record for record in run.records}
    for order_id in sorted(o for o, state in run.states.items() if state == SagaState.COMPLETED.value):
        for kind, make in RECORD_ID.items():
            record = held.get((kind, make(order_id)))
            if record is None:
                problems.append(f"{order_id}: completed without a {kind.label} at the pharmacy")
            elif record.status != kind.done or record.content is None:
                problems.append(f"{order_id}: completed, its {kind.label} {record.status}")
            elif record.content.get("order_id") != order_id:
                problems.append(f"{order_id}: its {kind.label} was made for another order")
    return problems


def each_idempotency_key_stable(run: AtThePharmacy) -> list[str]:
    """Every request for one (operation, resource) carried one key; no key served two of them."""
    keys: dict[tuple[str, str], set[str]] = {}
    asked: dict[str, set[tuple[str, str]]] = {}
    for operation_id, resource_id, key in run.arrivals:
        keys.setdefault((operation_id, resource_id), set()).add(key)
        asked.setdefault(key, set()).add((operation_id, resource_id))
    problems = [
        f"{op} {res}: {len(found)} different keys" for (op, res), found in sorted(keys.items()) if len(found) > 1
    ]
    problems += [
        f"one key for {len(targets)} requests: {', '.join(f'{op} {res}' for op, res in sorted(targets))}"
        for targets in asked.values()
        if len(targets) > 1
    ]
    return problems


def stock_is_conserved_at_the_pharmacy(run: AtThePharmacy) -> list[str]:
    """initial = available + reserved, and reserved = the lines of the reservations still held."""
    held: Counter[str] = Counter()
    for record in run.records:
        if record.kind is RecordKind.RESERVATION and record.status == record.kind.done and record.content:
            for line in record.content["lines"]:
                held[line["medication_id"]] += line["quantity"]
    return stock_problems(run.stock, run.initial_stock, held)


def the_saga_tells_what_the_pharmacy_did(run: AtThePharmacy) -> list[str]:
    """What a subscriber to the domain events believes is what the pharmacy holds: a record active
    there was announced done and never undone; one the saga announced done and the pharmacy then
    undid was announced undone. (A record made by an attempt whose answer never came, and undone
    as a crashed step, was never announced: nothing to take back.)"""
    problems = []
    for record in run.records:
        order_id = run.order_of.get((record.kind, record.record_id))
        if order_id is None or record.content is None:  # not the run's, or a tombstone: nothing was made
            continue
        told = set(run.histories.get(order_id, ()))
        done, undone = CREATED_EVENT[record.kind], UNDONE_EVENT[record.kind]
        if record.status == record.kind.done and (done not in told or undone in told):
            problems.append(f"{order_id}: {record.kind.label} {record.status}, the saga's events say otherwise")
        if record.status == record.kind.undone and done in told and undone not in told:
            problems.append(f"{order_id}: {record.kind.label} {record.status}, the saga announced {done} only")
    return problems


def each_order_ends_as_its_kind_says(run: AtThePharmacy) -> list[str]:
    """The business rules still decide, and nothing else fails a saga but the faults injected. A refused
    kind fails (or is rejected) whatever the faults; a valid order completes. A FAILED saga's records
    must name a reason the run made: the refusal its kind is for, at its own step; the pharmacy's
    stock run out, for any order reaching the reservation; or a step crashed with every attempt
    meeting a fault the pharmacy injected. Any other (a conflict, a contract error, a bug, a refusal
    at another step) is named."""
    problems = []
    for order_id, kind in sorted(run.kinds.items()):
        state = run.states.get(order_id)
        if state is None:
            continue  # unsettled: the stuck-saga invariant names it
        if state == SagaState.FAILED.value and kind is not Kind.INVALID:
            if (why := _unexplained_failure(run, order_id, kind)) is not None:
                problems.append(f"{order_id}: {kind.value} order ended FAILED: {why}")
        elif state != kind.ends_in.value:
            problems.append(f"{order_id}: {kind.value} order ended {state}")
    return problems


REFUSED_AT: Mapping[Kind, Step] = {
    Kind.UNKNOWN_MED: Step.CREATE_PRESCRIPTION,
    Kind.NO_STOCK: Step.RESERVE_INVENTORY,
    Kind.UNDELIVERABLE: Step.INITIATE_SHIPMENT,
}
"""The step each refused kind is refused at (harness/orders.py). Besides, any order that reaches the
reservation may find the pharmacy's stock run out: the run stocks about two thirds of the demand."""
REFUSED_EVENT: Mapping[Step, str] = {
    Step.CREATE_PRESCRIPTION: ev.PrescriptionRefused.TYPE_KEY,
    Step.RESERVE_INVENTORY: ev.InventoryReservationRefused.TYPE_KEY,
    Step.INITIATE_SHIPMENT: ev.ShipmentInitiationRefused.TYPE_KEY,
}


def _unexplained_failure(run: AtThePharmacy, order_id: str, kind: Kind) -> str | None:
    """None when its kind, the stock or the injected faults explain why the saga failed; else what its
    records say instead (the saga's own words only: a refusal's reason is the pharmacy's)."""
    why = run.compensated.get(order_id)
    if why is None:
        return "its saga recorded no change to COMPENSATING"
    step = STEP_PENDING_IN.get(why.from_state)
    if step is not None and REFUSED_EVENT[step] in run.histories.get(order_id, ()):
        if step is Step.RESERVE_INVENTORY:
            stock_ran_out = _refused_for_want_of_stock(run, order_id)
            return None if stock_ran_out else f"refused in {why.from_state}, not for want of stock at the pharmacy"
        return None if step is REFUSED_AT.get(kind) else f"refused in {why.from_state}"
    said = "".join(c if c.isprintable() else " " for c in (why.reason or "no reason"))[:80]
    if why.from_outside:  # no step refused, yet an outside reason: never printed
        return f"compensated in {why.from_state} for the pharmacy's reason"
    if step is None or why.reason != PharmacyUnavailable.__name__:
        return f"compensated in {why.from_state} on {said}"
    uninjected = [call for call in why.calls if call not in run.injected]
    if uninjected or len(why.calls) != why.attempts:
        met = ", ".join(why.calls) or "no call"
        return f"{step.console_name} crashed on {said} after {why.attempts} attempts meeting {met}"
    return None


def _refused_for_want_of_stock(run: AtThePharmacy, order_id: str) -> bool:
    """Whether the pharmacy's log holds its 409 for a line without stock to this order's reservation."""
    reservation = rules.reservation_id(order_id)
    return any(
        a.operation_id == "reserveInventory"
        and a.resource_id == reservation
        and a.status == 409
        and a.code is None
        and STOCK_REFUSAL.fullmatch(a.reason or "") is not None
        for a in run.answered
    )


def each_business_refusal_holds_at_the_pharmacy(run: AtThePharmacy) -> list[str]:
    """Whoever refuses it (the saga's catalogue and address rules before any request, or the
    pharmacy's own), nothing is prescribed for an order naming an unknown medication and nothing
    shipped to an undeliverable address; missing stock is the pharmacy's to refuse (the saga holds
    no stock over HTTP): asked once the prescription is made, it reserves nothing."""
    asked = {(operation_id, resource_id) for operation_id, resource_id, _ in run.arrivals}
    made = {(r.kind, r.record_id) for r in run.records if r.content is not None}
    problems = []
    for order_id, kind in sorted(run.kinds.items()):
        if kind is Kind.UNKNOWN_MED and (RecordKind.PRESCRIPTION, rules.prescription_id(order_id)) in made:
            problems.append(f"{order_id}: a prescription was made with an unknown medication")
        if kind is Kind.UNDELIVERABLE and (RecordKind.SHIPMENT, rules.shipment_id(order_id)) in made:
            problems.append(f"{order_id}: a shipment was made to an undeliverable address")
        reservation = rules.reservation_id(order_id)
        if kind is Kind.NO_STOCK and CREATED_EVENT[RecordKind.PRESCRIPTION] in run.histories.get(order_id, ()):
            if ("reserveInventory", reservation) not in asked:
                problems.append(f"{order_id}: no stock, and the pharmacy was never asked")
            if (RecordKind.RESERVATION, reservation) in made:
                problems.append(f"{order_id}: no stock, and the pharmacy reserved it")
    return problems


PHARMACY_INVARIANTS: dict[str, PharmacyInvariant] = {
    "each record created by one request (one key, one body)": each_record_created_once_from_one_body,
    "a compensated saga leaves nothing created at the pharmacy": a_compensated_saga_leaves_nothing_created,
    "nothing shipped unless completed; a completed saga has all three records": shipped_exactly_when_completed,
    "each Idempotency-Key stable, one per (operation, resource)": each_idempotency_key_stable,
    "stock conserved at the pharmacy": stock_is_conserved_at_the_pharmacy,
    "the saga's domain events tell what the pharmacy did": the_saga_tells_what_the_pharmacy_did,
    "each order ends as its kind says": each_order_ends_as_its_kind_says,
    "no prescription, reservation or shipment the business rules refuse": each_business_refusal_holds_at_the_pharmacy,
}
