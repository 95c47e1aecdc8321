"""What must hold after a chaos run with pharmacists' answers and cancellations, one function per invariant.

Each reads what the run left (`RequestsRun`: the saga streams, the projection, the business tables
and what was sent) and returns its violations (empty: it holds). The rules are the domain's
(lambdas/domain/saga.py, issue 25): a cancelled or failed saga leaves nothing made; nothing undoes a
shipment; every request is recorded once, applied or with why; a decision ends the saga as it says.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from harness.chaos.invariants import first_move_to_compensating, stock_problems
from lambdas.domain import events as ev
from lambdas.domain.projection import SagaView
from lambdas.domain.states import PARKED_STATES, TERMINAL_STATES, SagaState
from lambdas.logic.faults import draws_permanent, parse_plan

RequestKind = Literal["verified", "rejected", "cancel"]


@dataclass(frozen=True)
class Sent:
    """One request put on the order bus (one message): for which order, what, in which scenario."""

    order_id: str
    kind: RequestKind
    scenario: str
    reason: str | None = None
    """A rejection's or a cancellation's reason, as sent."""


@dataclass
class RequestsRun:
    """What a run left: plain data, so that a test can craft a violating one."""

    order_ids: list[str]
    """The orders sent."""
    ghost_ids: list[str]
    """Order ids requests were sent for and no order ever was."""
    views: dict[str, SagaView]
    """The projection's row of every id (orders and ghosts) that has one."""
    unfinished: list[str]
    sent: list[Sent]
    histories: dict[str, list[ev.StoredEvent]]
    records: dict[str, list[dict[str, Any]]]
    """Prescriptions, Reservations and Shipments: every item."""
    initial_stock: dict[str, int]
    stock: dict[str, tuple[int, int]]
    plan: dict[str, Any]
    timer_seconds: float
    """How long Verify Prescription waits here (real seconds: the deadline on the cloud's time scale)."""
    deadline_seconds: float
    """The deadline the saga records (its own clock: the configured minutes)."""
    grace_seconds: float = 2.0
    """A verification recorded this close to the timer may lose the race (SendTaskSuccess comes after the
    record): the timer then decides, as the domain allows (record_verification_overdue)."""
    _types: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def state(self, order_id: str) -> str | None:
        view = self.views.get(order_id)
        return None if view is None else view.state.value

    def stream(self, order_id: str) -> list[ev.StoredEvent]:
        return self.histories.get(order_id, [])

    def types(self, order_id: str) -> list[str]:
        if order_id not in self._types:
            self._types[order_id] = [e.type for e in self.stream(order_id)]
        return self._types[order_id]

    def with_state(self, *states: SagaState) -> list[str]:
        wanted = {s.value for s in states}
        return [o for o in self.order_ids if self.state(o) in wanted]


RequestInvariant = Callable[[RequestsRun], list[str]]

REFUSALS = frozenset(
    {ev.PrescriptionRefused.TYPE_KEY, ev.InventoryReservationRefused.TYPE_KEY, ev.ShipmentInitiationRefused.TYPE_KEY}
)
"""A step's business refusal."""

RECORDS: dict[str, tuple[str, ...]] = {
    "Prescriptions": ("ACTIVE",),
    "Reservations": ("RESERVED",),
    "Shipments": ("INITIATED",),
}
"""Each business table and the statuses of a record still in force (lambdas/adapters/dynamodb_*.py)."""


def _in_force(run: RequestsRun, table: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in run.records.get(table, []):
        status = record["status"]["S"]
        if status in RECORDS[table]:
            found.setdefault(record["order_id"]["S"], []).append(status)
    return found


def a_cancelled_or_failed_saga_leaves_nothing_made(run: RequestsRun) -> list[str]:
    """No prescription, reservation or shipment in force for a CANCELLED, FAILED or REJECTED saga, nor for
    an id no order came under; stock conserved (reserved = what reservations in force hold)."""
    undone = set(run.with_state(SagaState.CANCELLED, SagaState.FAILED, SagaState.REJECTED)) | set(run.ghost_ids)
    problems = [
        f"{table}: {order_id} {run.state(order_id)} keeps a record {statuses[0]}"
        for table in RECORDS
        for order_id, statuses in sorted(_in_force(run, table).items())
        if order_id in undone
    ]
    held: Counter[str] = Counter()
    for reservation in run.records.get("Reservations", []):
        if reservation["status"]["S"] == "RESERVED":
            for line in json.loads(reservation["lines"]["S"]):
                held[line["medication_id"]] += line["quantity"]
    return problems + stock_problems(run.stock, run.initial_stock, held)


def no_cancellation_undoes_a_shipment(run: RequestsRun) -> list[str]:
    """A saga whose shipment was initiated stays COMPLETED with its shipment INITIATED, and no cancellation
    is accepted after its completion."""
    shipped = _in_force(run, "Shipments")
    problems = []
    for order_id in run.order_ids:
        types = run.types(order_id)
        if ev.ShipmentInitiated.TYPE_KEY not in types:
            continue
        if run.state(order_id) != SagaState.COMPLETED.value:
            problems.append(f"{order_id}: shipment initiated, saga {run.state(order_id)}")
        if order_id not in shipped:
            problems.append(f"{order_id}: shipment initiated, no shipment INITIATED")
        completed = types.index(ev.OrderFulfillmentSagaCompleted.TYPE_KEY) if _completed(types) else len(types)
        undoing = {ev.CancellationRequested.TYPE_KEY, ev.ShipmentCancelled.TYPE_KEY, ev.OrderCancelled.TYPE_KEY}
        if undoing & set(types[completed:]):
            problems.append(f"{order_id}: {sorted(undoing & set(types[completed:]))} after its completion")
    return problems


def _completed(types: list[str]) -> bool:
    return ev.OrderFulfillmentSagaCompleted.TYPE_KEY in types


RECORDED_AS: dict[str, tuple[RequestKind, str]] = {
    ev.PrescriptionVerified.TYPE_KEY: ("verified", "applied"),
    ev.PrescriptionRejected.TYPE_KEY: ("rejected", "applied"),
    ev.CancellationRequested.TYPE_KEY: ("cancel", "applied"),
    ev.CancellationRefused.TYPE_KEY: ("cancel", "refused"),
}
"""The events that record a request, by type: which kind, and how (VerificationAnswerIgnored: its decision)."""


ORDER_RECEIVED = frozenset({ev.OrderFulfillmentSagaStarted.TYPE_KEY, ev.OrderRejected.TYPE_KEY})


def recorded_requests(stream: list[ev.StoredEvent]) -> dict[str, list[tuple[RequestKind, str]]]:
    """Each message a saga's stream records (by the causation id: the SQS message's id), with what it
    asked and what became of it: `applied`, `kept for its order` (a cancellation before it), `refused: why`,
    `ignored: why`."""
    found: dict[str, list[tuple[RequestKind, str]]] = {}
    ordered = False
    for stored in stream:
        message = stored.metadata.causation_id or f"(no causation id: event {stored.event_id})"
        ordered = ordered or stored.type in ORDER_RECEIVED
        if stored.type in RECORDED_AS:
            kind, outcome = RECORDED_AS[stored.type]
            if outcome == "applied" and kind == "cancel" and not ordered:
                outcome = "kept for its order"
            elif outcome == "refused":
                outcome = f"refused: {stored.payload.get('why')}"
        elif stored.type == ev.VerificationAnswerIgnored.TYPE_KEY:
            decision = stored.payload.get("decision")
            kind = "rejected" if decision == "rejected" else "verified"
            outcome = f"ignored: {stored.payload.get('why')}"
        else:
            continue
        found.setdefault(message, []).append((kind, outcome))
    return found


def every_request_is_accounted_for(run: RequestsRun) -> list[str]:
    """Per order and kind, as many messages recorded (applied, refused or ignored with why) as were sent;
    each message recorded once; an id no order came under shows ORDER_NOT_RECEIVED."""
    sent: Counter[tuple[str, RequestKind]] = Counter((s.order_id, s.kind) for s in run.sent)
    problems = []
    for order_id in sorted({s.order_id for s in run.sent}):
        recorded = recorded_requests(run.stream(order_id))
        for message, records in sorted(recorded.items()):
            if len(records) > 1:
                problems.append(f"{order_id}: message {message} recorded {len(records)} times: {records}")
        by_kind: Counter[RequestKind] = Counter(kind for records in recorded.values() for kind, _ in records[:1])
        for kind in ("verified", "rejected", "cancel"):
            if by_kind[kind] != sent[(order_id, kind)]:
                problems.append(f"{order_id}: {sent[(order_id, kind)]} {kind} sent, {by_kind[kind]} recorded")
    for ghost in run.ghost_ids:
        if run.state(ghost) != SagaState.ORDER_NOT_RECEIVED.value:
            problems.append(f"{ghost}: no order sent, saga {run.state(ghost)}")
    return problems


def _compensated_for_a_fault(run: RequestsRun, order_id: str) -> bool:
    """A step crashed on an injected fault, or a compensation's permanent fault parked the saga."""
    stream = run.stream(order_id)
    change = first_move_to_compensating(stream)
    if change is not None and str(change.get("reason") or "").startswith("Injected"):
        return True
    failed = [e for e in stream if e.type == ev.CompensationFailed.TYPE_KEY]
    plan = parse_plan(run.plan)
    return any(draws_permanent(plan, order_id, str(f.payload["compensation"])) for f in failed)


def _explained(run: RequestsRun, order_id: str) -> bool:
    return bool(REFUSALS & set(run.types(order_id))) or _compensated_for_a_fault(run, order_id)


def _first(stream: list[ev.StoredEvent], *types: str) -> ev.StoredEvent | None:
    return next((e for e in stream if e.type in types), None)


def each_saga_ends_as_its_requests_decide(run: RequestsRun) -> list[str]:  # noqa: C901 - one rule per decision
    """An accepted cancellation ends CANCELLED with its reason; otherwise a verification recorded before the
    timer completes, a rejection ends FAILED with the pharmacist's reason, no answer ends FAILED as
    overdue; each unless a business refusal or an injected fault explains it."""
    problems = []
    for order_id in run.order_ids:
        stream, state, view = run.stream(order_id), run.state(order_id), run.views.get(order_id)
        reason = None if view is None else view.failure_reason
        cancelled = _first(stream, ev.CancellationRequested.TYPE_KEY)
        if cancelled is not None:
            said = cancelled.payload.get("reason")
            if state == SagaState.REJECTED.value and ev.OrderFulfillmentSagaStarted.TYPE_KEY not in run.types(order_id):
                continue  # kept before its order, which came invalid: no step to stop, nothing to undo
            if state != SagaState.CANCELLED.value and not _compensated_for_a_fault(run, order_id):
                problems.append(f"{order_id}: cancellation accepted, saga {state}")
            elif state == SagaState.CANCELLED.value and reason != said:
                problems.append(f"{order_id}: cancelled, its failure reason is not the cancellation's")
            continue
        requested = _first(stream, ev.PrescriptionVerificationRequested.TYPE_KEY)
        decision = _first(
            stream,
            ev.PrescriptionVerified.TYPE_KEY,
            ev.PrescriptionRejected.TYPE_KEY,
            ev.PrescriptionVerificationOverdue.TYPE_KEY,
        )
        if requested is None:
            if decision is not None:
                problems.append(f"{order_id}: {decision.type} without a verification requested")
            continue
        if state == SagaState.CANCELLED.value:
            problems.append(f"{order_id}: CANCELLED without an accepted cancellation")
            continue
        if decision is None:
            problems.append(f"{order_id}: verification requested, no decision recorded (saga {state})")
            continue
        overdue = _first(stream, ev.PrescriptionVerificationOverdue.TYPE_KEY)
        if decision.type == ev.PrescriptionVerified.TYPE_KEY:
            deadline = ev.PrescriptionVerificationRequested.model_validate(requested.payload).deadline_at
            timer_at = deadline - timedelta(seconds=run.deadline_seconds - run.timer_seconds)
            in_time = decision.occurred_at + timedelta(seconds=run.grace_seconds) <= timer_at
            if in_time and state != SagaState.COMPLETED.value and not _explained(run, order_id):
                problems.append(f"{order_id}: verified before its deadline, saga {state} unexplained")
            elif overdue is None and state != SagaState.COMPLETED.value and not _explained(run, order_id):
                problems.append(f"{order_id}: verified, not overdue, saga {state} unexplained")
        elif decision.type == ev.PrescriptionRejected.TYPE_KEY:
            said = decision.payload.get("reason")
            if state == SagaState.FAILED.value and reason != said:
                problems.append(f"{order_id}: rejected, failed for another reason than the pharmacist's")
            elif state != SagaState.FAILED.value and not _compensated_for_a_fault(run, order_id):
                problems.append(f"{order_id}: rejected, saga {state}")
        else:
            said = decision.payload.get("reason")
            if state == SagaState.FAILED.value and reason != said:
                problems.append(f"{order_id}: overdue, failed for another reason than its deadline")
            elif state != SagaState.FAILED.value and not _compensated_for_a_fault(run, order_id):
                problems.append(f"{order_id}: overdue, saga {state}")
    return problems


SETTLED = frozenset(s.value for s in TERMINAL_STATES | PARKED_STATES)


def nothing_is_stuck(run: RequestsRun) -> list[str]:
    """Every order's saga terminal, or parked on a permanent compensation fault; every id no order came
    under ORDER_NOT_RECEIVED."""
    problems = [f"{o}: unfinished after the wait" for o in run.unfinished]
    plan = parse_plan(run.plan)
    for order_id in run.order_ids:
        state = run.state(order_id)
        if state not in SETTLED:
            problems.append(f"{order_id}: {state}")
        elif state == SagaState.COMPENSATION_FAILED.value:
            failed = [e for e in run.stream(order_id) if e.type == ev.CompensationFailed.TYPE_KEY]
            compensation = str(failed[-1].payload["compensation"]) if failed else "?"
            if not draws_permanent(plan, order_id, compensation):
                problems.append(f"{order_id}: parked at {compensation} without a permanent fault")
    problems += [f"{g}: {run.state(g)}" for g in run.ghost_ids if run.state(g) != SagaState.ORDER_NOT_RECEIVED.value]
    return problems


REQUEST_INVARIANTS: dict[str, RequestInvariant] = {
    "a cancelled or failed saga leaves nothing made; stock conserved": a_cancelled_or_failed_saga_leaves_nothing_made,
    "no cancellation undoes a shipment": no_cancellation_undoes_a_shipment,
    "every answer and cancellation recorded once, applied or with why": every_request_is_accounted_for,
    "each saga ends as its answers and cancellation decide": each_saga_ends_as_its_requests_decide,
    "nothing stuck: terminal, parked on a fault, or ORDER_NOT_RECEIVED": nothing_is_stuck,
}


def outcomes(run: RequestsRun) -> Counter[str]:
    """Requests by kind and what became of them, one per message: `verified: applied`, `cancel: refused: ...`;
    on an id no order came under, `... (no order)`."""
    found: Counter[str] = Counter()
    for order_id in sorted({s.order_id for s in run.sent}):
        ghost = " (no order)" if order_id in run.ghost_ids else ""
        for records in recorded_requests(run.stream(order_id)).values():
            kind, outcome = records[0]
            found[f"{kind}: {outcome}{ghost}"] += 1
    return found


def sent_by_scenario(sent: list[Sent]) -> Mapping[str, int]:
    return Counter(f"{s.kind}: {s.scenario}" for s in sent)
