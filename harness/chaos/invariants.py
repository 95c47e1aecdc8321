"""What must hold after any chaos run, one function per invariant, each reading through the adapters.

Each takes what the run left (`Observed`) and returns its violations (empty: it holds).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from harness.inprocess import EXPECTED_FUNCTION_ERRORS, POISON_MESSAGE_ERRORS, InProcess
from harness.queries import business_records
from harness.seed import stock
from infra import names
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from lambdas.logic.faults import draws_permanent, parse_plan
from lambdas.logic.project import replay


@dataclass
class Observed:
    """A chaos run's outcome, and the stack it ran on (read once per subject, when first asked)."""

    target: InProcess
    order_ids: list[str]
    states: dict[str, str]
    unfinished: list[str]
    initial_stock: dict[str, tuple[int, int]]
    plan: dict[str, Any]
    _records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @cached_property
    def histories(self) -> dict[str, list[ev.StoredEvent]]:
        found: dict[str, list[ev.StoredEvent]] = {}
        for stored in self.target.event_store().iter_all():
            found.setdefault(stored.metadata.correlation_id, []).append(stored)
        return found

    def records(self, table: str) -> list[dict[str, Any]]:
        if table not in self._records:
            self._records[table] = business_records(self.target, table)
        return self._records[table]

    def with_state(self, *states: SagaState) -> set[str]:
        return {order_id for order_id, state in self.states.items() if state in {s.value for s in states}}


Invariant = Callable[[Observed], list[str]]

TERMINAL = (SagaState.COMPLETED, SagaState.FAILED, SagaState.REJECTED, SagaState.COMPENSATION_FAILED)


def every_saga_ends_parked_only_on_a_permanent_compensation_fault(run: Observed) -> list[str]:
    problems = [f"{o}: unfinished after the wait" for o in run.unfinished]
    problems += [f"{o}: {s}" for o, s in run.states.items() if o not in run.with_state(*TERMINAL)]
    for order_id in run.with_state(SagaState.COMPENSATION_FAILED):
        failed = [e for e in run.histories[order_id] if e.type == ev.CompensationFailed.TYPE_KEY][-1]
        compensation = str(failed.payload["compensation"])
        if not draws_permanent(parse_plan(run.plan), order_id, compensation):
            problems.append(f"{order_id}: parked at {compensation} without a permanent fault")
    return problems


def first_move_to_compensating(stream: list[ev.StoredEvent]) -> dict[str, Any] | None:
    """The payload of the saga's first state change to COMPENSATING (its reason says why), if any."""
    return next(
        (
            e.payload
            for e in stream
            if e.type == ev.OrderFulfillmentSagaStateChanged.TYPE_KEY
            and e.payload.get("to_state") == SagaState.COMPENSATING.value
        ),
        None,
    )


def stock_problems(
    now: Mapping[str, tuple[int, int]], at_the_start: Mapping[str, int], held: Mapping[str, int]
) -> list[str]:
    """Stock conserved, wherever it is kept: per medication, (available, reserved) `now` adds up to what
    was there `at_the_start`, and what is reserved is what the reservations still in force hold."""
    problems = []
    for medication in sorted({*at_the_start, *now, *held}):
        available, reserved = now.get(medication, (0, 0))
        before, holding = at_the_start.get(medication, 0), held.get(medication, 0)
        if available + reserved != before:
            problems.append(f"{medication}: {available} available + {reserved} reserved != {before} at the start")
        if reserved != holding or available < 0:
            problems.append(f"{medication}: {reserved} reserved, {holding} held by reservations")
    return problems


def stock_is_conserved(run: Observed) -> list[str]:
    """initial = available + reserved, and reserved = the lines of the reservations still RESERVED."""
    held: Counter[str] = Counter()
    for reservation in run.records("Reservations"):
        if reservation["status"]["S"] == "RESERVED":
            for line in json.loads(reservation["lines"]["S"]):
                held[line["medication_id"]] += line["quantity"]
    at_the_start = {medication: sum(pair) for medication, pair in run.initial_stock.items()}
    return stock_problems(stock(run.target), at_the_start, held)


def a_failed_saga_leaves_nothing_active(run: Observed) -> list[str]:
    failed = run.with_state(SagaState.FAILED, SagaState.REJECTED)
    still: list[tuple[str, Callable[[str], bool]]] = [
        ("Reservations", lambda status: status == "RESERVED"),
        ("Prescriptions", lambda status: status == "ACTIVE"),
        ("Shipments", lambda status: status != "CANCELLED"),
    ]
    return [
        f"{table}: {record['order_id']['S']}"
        for table, active in still
        for record in run.records(table)
        if active(record["status"]["S"]) and record["order_id"]["S"] in failed
    ]


def one_execution_and_one_saga_per_order(run: Observed) -> list[str]:
    sfn = run.target.client("stepfunctions")
    executions: Counter[str] = Counter()
    machine = run.target.output(names.OUTPUT_STATE_MACHINE)
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
        executions.update(e["name"] for e in page["executions"])
    problems = [f"{n}: {c} executions" for n, c in executions.items() if c > 1]
    starts = {ev.OrderFulfillmentSagaStarted.TYPE_KEY, ev.OrderRejected.TYPE_KEY}
    for order_id in run.order_ids:
        sagas = sum(1 for e in run.histories.get(order_id, []) if e.type in starts)
        if sagas != 1:
            problems.append(f"{order_id}: {sagas} sagas")
        if run.states.get(order_id) != SagaState.REJECTED.value and executions[order_id] != 1:
            problems.append(f"{order_id}: {executions[order_id]} executions")
    return problems


def the_projection_equals_a_replay_of_the_event_store(run: Observed) -> list[str]:
    live = {v.order_id: v for v in run.target.projection().all()}
    rebuilt = replay(e for stream in run.histories.values() for e in stream)
    return sorted(k for k in set(live) | set(rebuilt) if live.get(k) != rebuilt.get(k))


def every_stored_domain_event_was_published(run: Observed) -> list[str]:
    drained = run.target.drain(run.target.output(names.OUTPUT_DOMAIN_EVENTS_QUEUE))
    published = {json.loads(body)["detail"]["event_id"] for body in drained}
    stored = {e.event_id for stream in run.histories.values() for e in stream}
    return sorted(stored - published)[:20]


def no_unhandled_error_nor_anything_refused_or_undelivered(run: Observed) -> list[str]:
    local = run.target.local
    expected = EXPECTED_FUNCTION_ERRORS | POISON_MESSAGE_ERRORS
    problems = [f"{f.split('-')[1]}: {t}: {m[:120]}" for f, t, m in local.runtime.errors if t not in expected]
    problems += [f"undelivered {u.function}: {u.reason[:120]}" for u in local.undelivered()]
    problems += [f"not delivered by {u.source}: {u.reason[:120]}" for u in local.undelivered_events()]
    problems += [f"refused: {r.message[:160]}" for r in local.refusals()]
    return problems[:20]


INVARIANTS: dict[str, Invariant] = {
    "every saga ends; parked only on a permanent compensation fault": (
        every_saga_ends_parked_only_on_a_permanent_compensation_fault
    ),
    "stock conserved (initial = available + reserved + shipped)": stock_is_conserved,
    "a failed saga leaves no active prescription, reservation or shipment": a_failed_saga_leaves_nothing_active,
    "exactly one execution and one saga per order id": one_execution_and_one_saga_per_order,
    "the projection equals a replay of the event store": the_projection_equals_a_replay_of_the_event_store,
    "every stored domain event was published": every_stored_domain_event_was_published,
    "no unhandled error in any function": no_unhandled_error_nor_anything_refused_or_undelivered,
}
"""Checked in this order (the last drains the domain events tap: the others read only)."""
