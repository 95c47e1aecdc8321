"""`saga load`: send a mix of orders, wait for every saga to end, compare with what the mix predicts."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import names
from lambdas.domain.projection import SagaView
from lambdas.logic import faults
from saga_cli.queries import percentile, projection, set_stock
from saga_cli.target import CliError, Target

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
VALID_MEDICATIONS = ("med-1", "med-2", "med-3", "med-4")
SCARCE = "med-scarce"

PREDICTED: dict[str, str] = {
    "valid": "COMPLETED",
    "no-stock": "FAILED",
    "unknown-med": "FAILED",
    "undeliverable": "FAILED",
    "duplicate": "COMPLETED",
    "invalid": "REJECTED",
}
DEFAULT_MIX = "valid=70,no-stock=8,unknown-med=8,undeliverable=8,duplicate=4,invalid=2"


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
        medication = rng.choice(VALID_MEDICATIONS)
        detail: dict[str, Any] = {"order_id": order_id, "patient_id": f"patient-{rng.randrange(10**6):06d}"}
        detail["medications"] = [medication]
        if kind == "no-stock":
            detail["medications"] = [medication, SCARCE]
        elif kind == "unknown-med":
            detail["medications"] = [medication, "med-unknown"]
        elif kind == "undeliverable":
            detail["shipping_address"] = {**US_ADDRESS, "country": "AQ"}
        elif kind == "invalid":
            detail["medications"] = []
        orders.append(PlannedOrder(order_id, kind, detail, deliveries=2 if kind == "duplicate" else 1))
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


def fault_plan(plan_text: str) -> dict[str, Any]:
    """The plan given as JSON or as `@file`, checked: a ValueError says what is wrong with it."""
    try:
        text = Path(plan_text[1:]).read_text() if plan_text.startswith("@") else plan_text
    except OSError as error:
        raise ValueError(f"cannot read the fault plan: {error}") from None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the fault plan is not JSON: {error}") from None
    faults.parse_plan(plan)
    return plan  # type: ignore[no-any-return]


def set_faults(target: Target, plan: dict[str, Any]) -> bool:
    """Put a fault plan in the stack's fault injection parameter; False if it was already there.

    Functions hold the plan they last read for up to `faults.PLAN_MAX_AGE_SECONDS`: a changed
    plan is in force only that long after this returns.
    """
    name = target.outputs.get(names.OUTPUT_FAULT_INJECTION_PARAMETER)
    if not name:
        raise CliError(f"stack {target.stack} was synthesized without fault injection (-c fault_injection=true)")
    ssm = target.client("ssm")
    stored = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    try:
        if json.loads(stored) == plan:
            return False
    except json.JSONDecodeError:
        pass  # not a plan at all (written by hand): replaced by this one
    ssm.put_parameter(Name=name, Value=json.dumps(plan), Type="String", Overwrite=True)
    return True


def prepare_stock(target: Target, total: int) -> None:
    """Enough stock for every valid order, none of the scarce medication (so no-stock fails)."""
    for medication in VALID_MEDICATIONS:
        set_stock(target, medication, total + 1000)
    set_stock(target, SCARCE, 0)


def run_load(
    target: Target,
    orders: list[PlannedOrder],
    concurrency: int,
    timeout: float,
    on_finished: Callable[[int], None] = lambda n: None,
) -> LoadResult:
    events = target.client("events")
    bus = target.output(names.OUTPUT_EVENT_BUS)
    sent_at: dict[str, datetime] = {}

    def send(order: PlannedOrder) -> None:
        sent_at[order.order_id] = datetime.now(UTC)
        for _ in range(order.deliveries):
            response = events.put_events(
                Entries=[
                    {
                        "Source": names.ORDER_SOURCE,
                        "DetailType": names.ORDER_DETAIL_TYPE,
                        "Detail": json.dumps(order.detail),
                        "EventBusName": bus,
                    }
                ]
            )
            if response.get("FailedEntryCount"):
                raise CliError(f"PutEvents refused order {order.order_id}: {response['Entries'][0]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, orders))
    remaining = max(0.0, started + timeout - time.perf_counter())
    final, latencies, unfinished = _wait(target, orders, sent_at, remaining, on_finished)
    return LoadResult(
        orders=len(orders),
        predicted=dict(Counter(PREDICTED[o.kind] for o in orders)),
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

    views, unfinished = projection(target).wait_settled([o.order_id for o in orders], timeout, settled)
    return {order_id: view.state.value for order_id, view in views.items()}, latencies, unfinished
