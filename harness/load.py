"""`saga load`: send a mix of orders, wait for every saga to end, compare with what the mix predicts."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.errors import HarnessError
from harness.fault_outcomes import Machine, predicted_state
from harness.orders import SCARCE, STOCKED, Kind, of_kind
from harness.queries import percentile
from harness.seed import set_stock
from harness.sending import deliver
from harness.target import Target
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState, Step
from lambdas.logic.faults import FaultPlan

DUPLICATE = "duplicate"
"""Not a kind of order but of delivery: a valid order delivered twice."""
PREDICTED: dict[str, str] = {**{kind.value: kind.ends_in.value for kind in Kind}, DUPLICATE: Kind.VALID.ends_in.value}
DEFAULT_MIX = "valid=70,no-stock=8,unknown-med=8,undeliverable=8,duplicate=4,invalid=2"


REFUSED_AT: dict[str, Step] = {
    Kind.UNKNOWN_MED.value: Step.CREATE_PRESCRIPTION,
    Kind.NO_STOCK.value: Step.RESERVE_INVENTORY,
    Kind.UNDELIVERABLE.value: Step.INITIATE_SHIPMENT,
}
"""The step that refuses each kind of order (harness/orders.py: the saga's business rules)."""

Expectation = Callable[["PlannedOrder"], str]


def as_the_mix_says(order: PlannedOrder) -> str:
    """The state an order ends in when nothing but the order decides (no fault plan)."""
    return PREDICTED[order.kind]


def under_faults(plan: FaultPlan, machine: Machine) -> Expectation:
    """The state each order ends in under `plan`, on the state machine `machine`."""

    def expected(order: PlannedOrder) -> str:
        ends_in = SagaState(PREDICTED[order.kind])
        return predicted_state(plan, machine, order.order_id, ends_in, REFUSED_AT.get(order.kind)).value

    return expected


def parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, weight = part.partition("=")
        if kind not in PREDICTED:
            raise ValueError(f"unknown order kind {kind!r}; kinds: {', '.join(PREDICTED)}")
        try:
            mix[kind] = float(weight)
        except ValueError:
            raise ValueError(f"weight of {kind} is not a number: {weight!r}") from None
        if mix[kind] < 0:
            raise ValueError(f"weight of {kind} is negative")
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("the mix needs at least one positive weight")
    return mix


def counts_for(total: int, mix: dict[str, float]) -> dict[str, int]:
    """Exact counts per kind summing to `total` (largest remainder)."""
    weight = sum(mix.values())
    exact = {k: total * w / weight for k, w in mix.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for kind in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


@dataclass(frozen=True)
class PlannedOrder:
    order_id: str
    kind: str
    detail: dict[str, Any]
    deliveries: int


def plan(total: int, mix: dict[str, float], run_id: str, seed: int = 0) -> list[PlannedOrder]:
    rng = random.Random(seed)
    kinds = [kind for kind, count in counts_for(total, mix).items() for _ in range(count)]
    rng.shuffle(kinds)
    orders = []
    for number, kind in enumerate(kinds):
        order_id = f"load-{run_id}-{number:06d}"
        medication = rng.choice(STOCKED)
        detail = of_kind(Kind.VALID if kind == DUPLICATE else Kind(kind), order_id, medication)
        detail["patient_id"] = f"patient-{rng.randrange(10**6):06d}"
        orders.append(PlannedOrder(order_id, kind, detail, deliveries=2 if kind == DUPLICATE else 1))
    return orders


@dataclass
class LoadResult:
    orders: int
    predicted: dict[str, int]
    final: dict[str, int]
    unfinished: list[str]
    wall_seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def as_predicted(self) -> bool:
        return not self.unfinished and self.final == self.predicted

    def report(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "final_states": self.final,
            "predicted_states": self.predicted,
            "as_predicted": self.as_predicted,
            "unfinished": self.unfinished[:50],
            "wall_seconds": round(self.wall_seconds, 3),
            "throughput_sagas_per_second": round(self.throughput, 2),
            "latency_seconds": {
                "p50": percentile(self.latencies, 50),
                "p95": percentile(self.latencies, 95),
                "p99": percentile(self.latencies, 99),
            },
        }


def prepare_stock(target: Target, total: int) -> None:
    """Enough stock for every valid order, none of the scarce medication (so no-stock fails)."""
    for medication in STOCKED:
        set_stock(target, medication, total + 1000)
    set_stock(target, SCARCE, 0)


class LoadInterrupted(HarnessError):
    """The load was interrupted (Ctrl-C): which orders went out before it stopped sending."""

    def __init__(self, sent: list[str], planned: int, settled: int | None) -> None:
        waited = "" if settled is None else f", {settled} of their sagas seen ended"
        super().__init__(f"interrupted: {len(sent)} of {planned} orders sent{waited}")
        self.sent = sent
        self.planned = planned
        self.settled = settled


def run_load(
    target: Target,
    orders: list[PlannedOrder],
    concurrency: int,
    timeout: float,
    on_finished: Callable[[int], None] = lambda n: None,
    on_sent: Callable[[int], None] = lambda n: None,
    expect: Expectation = as_the_mix_says,
) -> LoadResult:
    """Send `orders`, then wait for their sagas; `expect` says what each one should end in.
    Interrupted (KeyboardInterrupt), no further order is sent and LoadInterrupted names the ones
    that were: their sagas run on without the load."""
    sent_at: dict[str, datetime] = {}
    sent: list[str] = []

    stopping = threading.Event()
    """Set by the interrupt: a sender takes no order after it (a pool's queued orders would still start)."""

    def send(order: PlannedOrder) -> None:
        if stopping.is_set():
            return
        sent_at[order.order_id] = datetime.now(UTC)
        try:
            deliver(target, order.detail, order.deliveries)
        except KeyboardInterrupt:
            stopping.set()
            raise
        sent.append(order.order_id)  # list.append is atomic: the senders share it safely
        on_sent(1)

    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        list(pool.map(send, orders))
    except KeyboardInterrupt:
        # Orders not yet begun are dropped; the ones on their way finish, so the count is exact.
        stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise LoadInterrupted(list(sent), len(orders), None) from None
    finally:
        pool.shutdown(wait=True)
    remaining = max(0.0, started + timeout - time.perf_counter())
    settled = 0

    def finished(count: int) -> None:
        nonlocal settled
        settled += count
        on_finished(count)

    try:
        final, latencies, unfinished = _wait(target, orders, sent_at, remaining, finished)
    except KeyboardInterrupt:
        raise LoadInterrupted(list(sent), len(orders), settled) from None
    return LoadResult(
        orders=len(orders),
        predicted=dict(Counter(expect(o) for o in orders)),
        final=dict(Counter(final.values())),
        unfinished=unfinished,
        wall_seconds=time.perf_counter() - started,
        latencies=latencies,
    )


def _wait(
    target: Target,
    orders: list[PlannedOrder],
    sent_at: dict[str, datetime],
    timeout: float,
    on_finished: Callable[[int], None],
) -> tuple[dict[str, str], list[float], list[str]]:
    latencies: list[float] = []

    def settled(views: list[SagaView]) -> None:
        for view in views:
            if view.ended_at:
                latencies.append(max(0.0, (view.ended_at - sent_at[view.order_id]).total_seconds()))
        on_finished(len(views))

    views, unfinished = target.settle([o.order_id for o in orders], timeout, settled)
    return {order_id: view.state.value for order_id, view in views.items()}, latencies, unfinished
