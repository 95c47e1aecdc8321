"""Chaos run with a pharmacist: sagas that wait for a verification, answers and cancellations at random moments.

    python -m harness.chaos.run --requests --sagas 500             # make chaos
    tests/e2e/test_chaos_requests.py runs 60 of them               # part of make test

The stack is synthesized with `prescription_verification=pharmacist`, a deadline short at the local
cloud's time scale, and the fault plan of the built-in run (harness/chaos/run.py). The orders are
that run's (every kind, delivered 1 to 3 times); each also gets, seeded, an answer script (verified,
rejected, none, late after its deadline, twice alike or opposite) and a cancellation script (none,
while it waits, while a step runs, after it ends, before its order is sent, twice); a few ids get
requests and never an order. A request fires once its saga is in the state its scenario names (or
has settled, if it never gets there), a random delay after what it follows. Then the invariants of
harness/chaos/request_invariants.py, and the built-in run's that still apply.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from harness import sending
from harness.assembly import READ_PUBLISHED_EVENTS, synthesize
from harness.chaos.invariants import (
    Observed,
    every_stored_domain_event_was_published,
    the_projection_equals_a_replay_of_the_event_store,
)
from harness.chaos.request_invariants import (
    REQUEST_INVARIANTS,
    RequestKind,
    RequestsRun,
    Sent,
    outcomes,
    sent_by_scenario,
)
from harness.chaos.run import ChaosOrder, Report, fault_plan, plan_orders, stock_for
from harness.errors import HarnessError
from harness.inprocess import EXPECTED_FUNCTION_ERRORS, POISON_MESSAGE_ERRORS, InProcess, deployed
from harness.queries import business_records
from harness.seed import stock
from harness.waiting import SETTLED_STATES
from infra import names
from lambdas.contract import (
    CANCELLATION_REQUESTED,
    CANCELLATION_SOURCE,
    PHARMACIST,
    PRESCRIPTION_REJECTED,
    PRESCRIPTION_VERIFIED,
    VERIFICATION_SOURCE,
)
from lambdas.domain.errors import IllegalTransition
from lambdas.domain.states import SagaState
from localcloud.cloud import DEFAULT_TIME_SCALE

DEADLINE_MINUTES = 300
"""The verification deadline the stack is synthesized with: 18 s at the local cloud's time scale (0.001),
long against an answer's way (bus, queue, function, all in this one process) so that an answer sent
while the saga waits is in time, short enough that the sagas nobody answers fail within the run."""
ORDERS_PER_SECOND = 10.0
"""The pace orders are sent at: what the local cloud keeps up with on one core, so that a wait for a
pharmacist lasts as long as its deadline says, not as long as a backlog makes it (at 50 a second, a
500-saga run met most answers after their deadline)."""
TIMER_SECONDS = DEADLINE_MINUTES * 60 * DEFAULT_TIME_SCALE
GRACE_SECONDS = 3.0
"""A verification recorded closer than this to the timer may lose the race to it (request_invariants)."""
ANSWER_WITHIN_SECONDS = 2.0
"""A timely answer goes at most this long after its saga is seen waiting."""

WAITING = frozenset({SagaState.PENDING_VERIFICATION.value})
RUNNING_A_STEP = frozenset(
    {SagaState.PENDING_PRESCRIPTION.value, SagaState.PENDING_INVENTORY.value, SagaState.PENDING_SHIPMENT.value}
)
ENDED = frozenset(SETTLED_STATES)

ANSWER_SCRIPTS = (
    (0.35, "verified"),
    (0.50, "rejected"),
    (0.65, "no answer"),
    (0.75, "late"),
    (0.87, "twice alike"),
    (1.00, "twice opposite"),
)
CANCELLATION_SCRIPTS = (
    (0.50, "none"),
    (0.60, "while waiting"),
    (0.70, "while a step runs"),
    (0.80, "after it ended"),
    (0.90, "before its order"),
    (1.00, "twice"),
)
"""A roll below each bound picks that script."""
SCENARIOS = (
    "while it waits",
    "after its deadline",
    "twice alike",
    "twice opposite",
    "while waiting",
    "while a step runs",
    "after it ended",
    "before its order",
    "twice",
    "for an order that never comes",
)
"""Every request scenario the plan sends (an order left unanswered sends none)."""
GHOSTS_PER_SAGA = 0.05
"""Ids with requests and no order: one per twenty sagas."""

ALLOWED_ERRORS = frozenset({IllegalTransition.__name__})
"""What a saga's functions raise by design once a cancellation overtook them: a task of a stopped
execution, or a waiting task's function, finds the saga no longer in the state it needs."""


@dataclass(frozen=True)
class Action:
    """One thing to put on the bus: an order (its deliveries) or one request."""

    order_id: str
    what: str
    """`order`, or a request's kind (`verified`, `rejected`, `cancel`)."""
    scenario: str
    delay: float
    """Seconds after what it follows fired (the run's start when it follows nothing)."""
    follows: int | None = None
    """The index of the action it follows."""
    when: frozenset[str] | None = None
    """Saga states it waits for; a settled saga releases it too (it never gets there)."""
    order: ChaosOrder | None = None
    reason: str | None = None


def plan(orders: list[ChaosOrder], rng: random.Random, run_id: str) -> list[Action]:
    """Each order's sending, its answers and its cancellations, and requests for ids with no order."""
    actions: list[Action] = []
    spread = max(1.0, len(orders) / ORDERS_PER_SECOND)

    def add(action: Action) -> int:
        actions.append(action)
        return len(actions) - 1

    for order in orders:
        at = rng.uniform(0, spread)
        cancellation = _pick(CANCELLATION_SCRIPTS, rng.random())
        if cancellation == "before its order":
            first = add(Action(order.order_id, "cancel", cancellation, at, reason="ordered twice by mistake"))
            sent = add(
                Action(order.order_id, "order", "after its cancellation", rng.uniform(0.2, 1.5), first, order=order)
            )
        else:
            sent = add(Action(order.order_id, "order", "sent", at, order=order))
        answered = _answers(order.order_id, sent, rng, add)
        _cancellations(order.order_id, cancellation, sent, answered, rng, add)
    for number in range(max(1, round(len(orders) * GHOSTS_PER_SAGA))):
        ghost = f"ghost-{run_id}-{number:04d}"
        what = rng.choice(("verified", "rejected", "cancel"))
        reason = "no such order" if what != "verified" else None
        add(Action(ghost, what, "for an order that never comes", rng.uniform(0, spread), reason=reason))
    return actions


def _pick(scripts: tuple[tuple[float, str], ...], roll: float) -> str:
    return next(script for bound, script in scripts if roll < bound)


def _answers(order_id: str, sent: int, rng: random.Random, add: Any) -> int | None:
    """The order's answers; the index of the first one sent while it waits (None when none is)."""
    script = _pick(ANSWER_SCRIPTS, rng.random())
    decision = rng.choice(("verified", "rejected"))
    reason = {"rejected": "interacts with another medication", "verified": None}

    def answer(what: str, label: str, follows: int, delay: float, when: frozenset[str]) -> int:
        return int(add(Action(order_id, what, label, delay, follows, when, reason=reason[what])))

    match script:
        case "verified" | "rejected":
            return answer(script, "while it waits", sent, rng.uniform(0, ANSWER_WITHIN_SECONDS), WAITING)
        case "late":
            answer(decision, "after its deadline", sent, rng.uniform(0, 1), ENDED)
            return None
        case "twice alike" | "twice opposite":
            first = answer(decision, script, sent, rng.uniform(0, ANSWER_WITHIN_SECONDS), WAITING)
            other = "rejected" if decision == "verified" else "verified"
            second = decision if script == "twice alike" else other
            answer(second, script, first, rng.uniform(0, 0.5), frozenset())
            return first
        case _:
            return None  # no answer: the deadline passes


def _cancellations(order_id: str, script: str, sent: int, answered: int | None, rng: random.Random, add: Any) -> None:
    reason = "the patient moved pharmacy"

    def cancel(label: str, follows: int, delay: float, when: frozenset[str] | None) -> None:
        add(Action(order_id, "cancel", label, delay, follows, when, reason=reason))

    match script:
        case "while waiting":
            cancel(script, sent, rng.uniform(0, ANSWER_WITHIN_SECONDS), WAITING)
        case "while a step runs":
            # Right after the answer that lets the steps go on, or as the order is sent.
            cancel(script, answered if answered is not None else sent, rng.uniform(0, 0.3), RUNNING_A_STEP)
        case "after it ended":
            cancel(script, sent, rng.uniform(0, 1), ENDED)
        case "twice":
            delay = rng.uniform(0, ANSWER_WITHIN_SECONDS)
            cancel(script, sent, delay, None)
            cancel(script, sent, delay + rng.uniform(0, 0.3), None)
        case _:
            pass  # none; or sent before its order (planned with it)


class RequestRefused(HarnessError):
    """EventBridge refused a request's entry."""


def put_request(target: InProcess, action: Action) -> None:
    """A pharmacist's answer or a cancellation, put on the order bus as a pharmacy puts it."""
    detail: dict[str, Any] = {"order_id": action.order_id}
    if action.what == "cancel":
        source, detail_type = CANCELLATION_SOURCE, CANCELLATION_REQUESTED
    else:
        source = VERIFICATION_SOURCE
        detail_type = PRESCRIPTION_VERIFIED if action.what == "verified" else PRESCRIPTION_REJECTED
        detail["pharmacist_id"] = "ph-chaos"
    if action.reason is not None:
        detail["reason"] = action.reason
    answer = target.client("events").put_events(
        Entries=[
            {
                "EventBusName": target.output(names.OUTPUT_EVENT_BUS),
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        entry = answer["Entries"][0]
        raise RequestRefused(f"PutEvents refused a {action.what}: {entry.get('ErrorCode')}")


def drive(target: InProcess, actions: list[Action], *, concurrency: int, timeout: float) -> list[int]:
    """Fire every action when it is due, from `concurrency` senders: the indices fired, in order. An
    action still waiting at `timeout` is not sent (its saga's invariants say why)."""
    projection = target.projection()
    fired_at: dict[int, float] = {}
    lock = threading.Lock()
    fired: list[int] = []
    started = time.monotonic()
    pending = set(range(len(actions)))
    futures: list[Future[None]] = []

    def fire(index: int) -> None:
        action = actions[index]
        if action.order is not None:
            sending.deliver(target, action.order.detail, action.order.deliveries, at_once=action.order.concurrent)
        else:
            put_request(target, action)
        with lock:
            fired_at[index] = time.monotonic()
            fired.append(index)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        while pending and time.monotonic() - started < timeout:
            with lock:
                done = dict(fired_at)
            now = time.monotonic()
            due = [
                i
                for i in pending
                if (actions[i].follows is None and now - started >= actions[i].delay)
                or (actions[i].follows in done and now - done[actions[i].follows] >= actions[i].delay)  # type: ignore[index]  # follows is in done, so not None
            ]
            waiting_for = {actions[i].order_id for i in due if actions[i].when}
            states = projection.states(waiting_for) if waiting_for else {}
            for index in sorted(due):
                when = actions[index].when
                if when and states.get(actions[index].order_id) not in when | ENDED:
                    continue
                pending.discard(index)
                futures.append(pool.submit(fire, index))
            for future in [f for f in futures if f.done()]:
                future.result()  # a refused PutEvents ends the run: it is the harness's defect
            time.sleep(0.2)  # each pass reads the states it waits for: leave the sagas the CPU
        for future in futures:
            future.result()
    return fired


def run(sagas: int, seed: int = 7, concurrency: int = 8, timeout: float = 1800.0) -> Report:
    rng = random.Random(seed)
    report = Report(sagas=sagas, pharmacy="built-in tables, a pharmacist verifying")
    assembly = synthesize(
        "Verifying",
        fault_injection=True,
        context={
            "prescription_verification": PHARMACIST,
            "verification_deadline_minutes": str(DEADLINE_MINUTES),
            **READ_PUBLISHED_EVENTS,
        },
    )
    with deployed(assembly) as cloud:
        stock_for(cloud, sagas)
        initial = stock(cloud)
        faults = fault_plan(seed)
        cloud.set_faults(faults)
        orders = plan_orders(sagas, rng, run_id=f"rq-{seed}")
        actions = plan(orders, rng, run_id=f"{seed}")
        began = time.perf_counter()
        fired = drive(cloud, actions, concurrency=concurrency, timeout=timeout)
        sent_orders = [a.order_id for a in (actions[i] for i in fired) if a.order is not None]
        requests = [actions[i] for i in fired if actions[i].order is None]
        ghosts = sorted({a.order_id for a in actions} - {o.order_id for o in orders})
        remaining = max(1.0, timeout - (time.perf_counter() - began))
        views, report.unfinished = cloud.settle(sent_orders, timeout=remaining)
        # Requests sent last (after their saga ended) are still on their way: idle means recorded.
        cloud.local.wait_until_idle(timeout=60)
        report.wall_seconds = time.perf_counter() - began
        all_views = {v.order_id: v for v in cloud.projection().all()}
        report.deliveries = sum(o.deliveries for o in orders)
        report.duplicates = report.deliveries - len(orders)
        report.final_states = Counter(all_views[o].state.value for o in sent_orders if o in all_views)
        report.final_states.update(f"{all_views[g].state.value} (no order)" for g in ghosts if g in all_views)
        report.faults = Counter(e[1] for e in cloud.local.runtime.errors if e[1].startswith("Injected"))
        observed = Observed(cloud, sent_orders, {k: v.state.value for k, v in views.items()}, [], initial, faults)
        seen = RequestsRun(
            order_ids=sent_orders,
            ghost_ids=ghosts,
            views=all_views,
            unfinished=report.unfinished + [o.order_id for o in orders if o.order_id not in sent_orders],
            sent=[_sent(a) for a in requests],
            histories=observed.histories,
            records={table: business_records(cloud, table) for table in ("Prescriptions", "Reservations", "Shipments")},
            initial_stock={medication: sum(pair) for medication, pair in initial.items()},
            stock=stock(cloud),
            plan=faults,
            timer_seconds=TIMER_SECONDS,
            deadline_seconds=DEADLINE_MINUTES * 60,
            grace_seconds=GRACE_SECONDS,
        )
        report.figures = Counter(sent_by_scenario(seen.sent))
        report.requests = outcomes(seen)
        for invariant, check in REQUEST_INVARIANTS.items():
            report.check(invariant, check(seen))
        report.check(
            "the projection equals a replay of the event store",
            the_projection_equals_a_replay_of_the_event_store(observed),
        )
        report.check("every stored domain event was published", every_stored_domain_event_was_published(observed))
        report.check("no unhandled error in any function", unhandled_errors(cloud))
    return report


def _sent(action: Action) -> Sent:
    kind: RequestKind = "cancel" if action.what == "cancel" else "rejected" if action.what == "rejected" else "verified"
    return Sent(action.order_id, kind, action.scenario, action.reason)


def unhandled_errors(cloud: InProcess) -> list[str]:
    """The built-in run's check, allowing what a cancellation makes a saga's functions raise (counted apart)."""
    local = cloud.local
    expected = EXPECTED_FUNCTION_ERRORS | POISON_MESSAGE_ERRORS | ALLOWED_ERRORS
    problems = [f"{f.split('-')[1]}: {t}: {m[:120]}" for f, t, m in local.runtime.errors if t not in expected]
    problems += [f"undelivered {u.function}: {u.reason[:120]}" for u in local.undelivered()]
    problems += [f"not delivered by {u.source}: {u.reason[:120]}" for u in local.undelivered_events()]
    problems += [f"refused: {r.message[:160]}" for r in local.refusals()]
    return problems[:20]
