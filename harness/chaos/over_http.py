"""The chaos run with all three steps over HTTP, against a reference pharmacy that misbehaves on purpose.

Same orders, same sending and waiting as the built-in run (harness/chaos/run.py); the faults are
the pharmacy's (the stack's own fault injection stays off, so every fault a step meets is one the
pharmacy made), and the invariants read the pharmacy's own records.

The knobs against the steps' client (lambdas/adapters/pharmacy_http_client.py):
- a 500 before any work (`error_rate`);
- a hold (`timeout_rate`) of `HOLD_SECONDS`, past the client's 10 s read timeout: the client gives
  up and the state machine retries at once (its backoff is scaled to milliseconds locally), and the
  held request is done a second later: a late arrival, after its retry, and after the saga's
  compensation when the saga failed within that second (the tombstone rule must then refuse it).
  Any hold above the read timeout is a client timeout and costs the saga those 10 s; a longer one
  only makes the run wait longer for its last late arrivals;
- the work done and the connection closed without an answer (`drop_rate`);
- every answer `LATENCY_SECONDS` late: a slow pharmacy (well inside the client's timeouts).
At these rates an attempt fails about one time in nine (0.106): a step crashes after its 6 attempts
(infra/saga_workflow.py PHARMACY_RETRY) about once in 700,000 steps, and a compensation parks after 7
about once in seven million: none expected. A FAILED saga must show its kind's refusal, the
pharmacy's stock running out, or a crash whose every attempt met one of these faults (`SEEN_AS`).
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections import Counter
from dataclasses import replace

from harness import queries
from harness.chaos.at_the_pharmacy import Answered, AtThePharmacy, Compensated
from harness.chaos.invariants import (
    INVARIANTS,
    Invariant,
    Observed,
    every_saga_ends_parked_only_on_a_permanent_compensation_fault,
    every_stored_domain_event_was_published,
    first_move_to_compensating,
    no_unhandled_error_nor_anything_refused_or_undelivered,
    one_execution_and_one_saga_per_order,
    the_projection_equals_a_replay_of_the_event_store,
)
from harness.chaos.pharmacy_invariants import PHARMACY_INVARIANTS, STEP_PENDING_IN
from harness.chaos.run import ChaosOrder, Report, plan_orders, send_and_settle, stock_level
from harness.execution_path import read_path
from harness.inprocess import InProcess
from harness.orders import STOCKED
from harness.pharmacy_api import deployed_over_http
from harness.seed import stock
from lambdas.adapters.pharmacy_calls import NO_ANSWER, Call
from lambdas.adapters.pharmacy_http import CANCELLED_CODE
from lambdas.adapters.pharmacy_http_client import READ_TIMEOUT_SECONDS
from lambdas.domain import events as ev
from lambdas.domain.errors import PharmacyUnavailable
from pharmacy_reference.bodies import Body, fingerprint
from pharmacy_reference.catalogue import STOCK
from pharmacy_reference.faults import Faults
from pharmacy_reference.server import Served
from pharmacy_reference.service import Operation, Outcome, Pharmacy

HOLD_SECONDS = READ_TIMEOUT_SECONDS + 1.0
LATENCY_SECONDS = 0.05
FAULTS = Faults(
    latency_seconds=LATENCY_SECONDS,
    error_rate=0.05,
    timeout_rate=0.02,
    hold_seconds=HOLD_SECONDS,
    drop_rate=0.04,
)
"""Per request; `seed` is the run's."""

LATE_ARRIVALS_WAIT_SECONDS = HOLD_SECONDS + 30.0
"""A bound on waiting for the requests still held when the last saga settles (they arrive at most
HOLD_SECONDS after they were received, plus the pharmacy's own work)."""

REMOTE_STEP_INVARIANTS: tuple[Invariant, ...] = (
    every_saga_ends_parked_only_on_a_permanent_compensation_fault,
    one_execution_and_one_saga_per_order,
    the_projection_equals_a_replay_of_the_event_store,
    every_stored_domain_event_was_published,
    no_unhandled_error_nor_anything_refused_or_undelivered,
)
"""The built-in run's invariants that still say something when the steps are remote, in its order
(the published-events one drains the domain events tap). Its stock and business-table ones would
hold vacuously: the stock and the records are the pharmacy's now, and PHARMACY_INVARIANTS reads
those. With the stack's fault injection off, the first allows no parked saga at all."""

INJECTED = {"error": "HTTP 500", "hold": "held past the client's timeout", "drop": "response dropped after the work"}
"""The pharmacy's names for its faults -> the report's."""

SEEN_AS = {
    "error_rate": "HTTP 500",
    "timeout_rate": f"{NO_ANSWER} (ReadTimeoutError)",
    "drop_rate": f"{NO_ANSWER} (ProtocolError)",
    "unavailable_first": "HTTP 503",
}
"""Each fault knob -> what a step's call sees of it (lambdas/adapters/pharmacy_calls.py's words): the
500 or 503 itself; a hold past the read timeout, urllib3's ReadTimeoutError; a connection closed
without an answer, its ProtocolError. A step crashed by the knobs turned on met only these."""

_SEEN = re.compile(r": (HTTP \d{3}|no answer \(\w+\))")


class AnsweringPharmacy(Pharmacy):
    """The reference pharmacy, noting what it answered each request it served (after any hold: a late
    arrival's answer too), for the report: which creates it refused because their cancel came first."""

    def __init__(self, stock: dict[str, int]) -> None:
        super().__init__(stock=stock)
        self._answered_lock = threading.Lock()
        self._answered: Counter[str] = Counter()
        self._log: list[Answered] = []

    def handle(self, operation: Operation, resource_id: str, key: str, body: Body | None) -> Outcome:
        outcome = super().handle(operation, resource_id, key, body)
        answer = outcome.answer
        # The body's digest alone (operation and resource are the entry's own fields): it names the patient.
        digest = None if body is None else hashlib.sha256(fingerprint("", "", body).encode()).hexdigest()
        code, reason = answer.body.get("code"), answer.body.get("reason")
        served = Answered(
            operation.operation_id,
            resource_id,
            key,
            digest,
            answer.status,
            outcome.replayed,
            code if isinstance(code, str) else None,
            reason if isinstance(reason, str) else None,
        )
        with self._answered_lock:
            self._log.append(served)
            if outcome.replayed:
                self._answered["answers replayed (a repeated key)"] += 1
            if body is not None and answer.status == 409 and answer.body.get("code") == CANCELLED_CODE:
                self._answered["creates refused: cancelled first (late arrivals)"] += 1
        return outcome

    def answered(self) -> Counter[str]:
        with self._answered_lock:
            return Counter(self._answered)

    def log(self) -> list[Answered]:
        """Every request it served, as it answered it (a late arrival's too)."""
        with self._answered_lock:
            return list(self._log)


def run(sagas: int, seed: int = 7, concurrency: int = 8, timeout: float = 1800.0) -> Report:
    rng = random.Random(seed)
    report = Report(sagas=sagas, pharmacy="reference, over HTTP")
    initial = {**STOCK, **{medication: stock_level(sagas) for medication in STOCKED}}
    faults = replace(FAULTS, seed=seed)
    pharmacy = AnsweringPharmacy(stock=initial)
    with deployed_over_http(faults=faults, pharmacy=pharmacy) as (cloud, served):
        orders = plan_orders(sagas, rng, run_id=f"http-{seed}")
        states = send_and_settle(cloud, orders, report, concurrency=concurrency, timeout=timeout)
        # The late arrivals land before anything is read: a create held past its compensation must
        # find the tombstone, and the records must show what it did.
        late = served.traffic.wait_idle(LATE_ARRIVALS_WAIT_SECONDS)
        report.faults = injected(served, cloud)
        observed = Observed(cloud, [o.order_id for o in orders], states, report.unfinished, stock(cloud), plan={})
        at_pharmacy = at_the_pharmacy(pharmacy, faults, orders, states, initial, observed, still_in_flight=not late)
        report.figures = figures(at_pharmacy) + pharmacy.answered()
        for invariant, pharmacy_check in PHARMACY_INVARIANTS.items():
            report.check(invariant, pharmacy_check(at_pharmacy))
        names = {check: name for name, check in INVARIANTS.items()}
        for check in REMOTE_STEP_INVARIANTS:
            report.check(names[check], check(observed))
    return report


def injected(served: Served, cloud: InProcess) -> Counter[str]:
    """The faults the pharmacy made (by its own count) and what the steps saw of them (their errors)."""
    found: Counter[str] = Counter()
    for fault, count in served.plan.drawn().items():
        found[f"pharmacy: {INJECTED.get(fault, fault)}"] += count
    for _function, error, message in cloud.local.runtime.errors:
        if error == PharmacyUnavailable.__name__:
            seen = _SEEN.search(message)
            found[f"steps saw: {seen.group(1) if seen else 'other'}"] += 1
    return found


def compensated(observed: Observed) -> dict[str, Compensated]:
    """Why each saga that compensated did: its first state change to COMPENSATING and, for a step that
    crashed (the change's reason is the caught error's name, not a refusal), that step's attempts and
    calls from the execution history."""
    found = {}
    for order_id, stream in observed.histories.items():
        change = first_move_to_compensating(stream)
        if change is None:
            continue
        from_state, reason = str(change.get("from_state")), change.get("reason")
        why = Compensated(from_state, None if reason is None else str(reason), bool(change.get("reason_from_outside")))
        step = STEP_PENDING_IN.get(from_state)
        refused = any(e.type in REFUSED_EVENTS for e in stream)
        cloud = observed.target
        if step is not None and not refused and (execution := queries.execution(cloud, order_id)) is not None:
            run = read_path(queries.execution_history(cloud, execution["executionArn"])).runs.get(step.console_name)
            if run is not None:
                why = replace(why, attempts=run.attempts, calls=tuple(_seen(call) for call in run.calls))
        found[order_id] = why
    return found


REFUSED_EVENTS = frozenset(
    {ev.PrescriptionRefused.TYPE_KEY, ev.InventoryReservationRefused.TYPE_KEY, ev.ShipmentInitiationRefused.TYPE_KEY}
)
"""A step's refusal, recorded by the step itself: it did not crash."""


def _seen(call: Call) -> str:
    """What the call met, without its system: `HTTP 500`, `no answer (ReadTimeoutError)`."""
    return str(call).partition(": ")[2]


def figures(run: AtThePharmacy) -> Counter[str]:
    """The pharmacy's records by kind and status (a tombstone: cancelled before any create), and
    the requests it received, first and repeated (a retry, a redelivery or a late arrival)."""
    found: Counter[str] = Counter(
        f"{record.kind.label}s {record.status if record.content is not None else 'tombstone'}" for record in run.records
    )
    found["requests received"] = len(run.arrivals)
    found["requests repeating a key"] = len(run.arrivals) - len({key for _, _, key in run.arrivals})
    return found


def at_the_pharmacy(
    pharmacy: AnsweringPharmacy,
    faults: Faults,
    orders: list[ChaosOrder],
    states: dict[str, str],
    initial: dict[str, int],
    observed: Observed,
    *,
    still_in_flight: bool,
) -> AtThePharmacy:
    return AtThePharmacy(
        kinds={o.order_id: o.kind for o in orders},
        states=states,
        records=pharmacy.records(),
        arrivals=pharmacy.arrivals(),
        initial_stock=initial,
        stock=pharmacy.stock(),
        histories={order_id: [e.type for e in stream] for order_id, stream in observed.histories.items()},
        still_in_flight=still_in_flight,
        answered=pharmacy.log(),
        compensated=compensated(observed),
        injected=frozenset(seen for knob, seen in SEEN_AS.items() if getattr(faults, knob) > 0),
    )
