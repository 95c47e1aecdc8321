"""Chaos run: many sagas, random faults and business failures, duplicated deliveries; then the invariants.

    python -m harness.chaos.run --sagas 2000                          # make chaos
    python -m harness.chaos.run --sagas 1000 --pharmacy reference     # make chaos: every step over HTTP
    python -m harness.chaos.run --sagas 500 --requests                # make chaos: pharmacists, cancellations
    tests/e2e/test_chaos.py runs 200 of them, test_chaos_http.py 120  # part of make test

Both runs plan, send and wait for their orders here (`plan_orders`, `send_and_settle`); the HTTP
run's stack, faults and invariants are harness/chaos/over_http.py's. Exit status 1 when any
invariant has a violation.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness import sending
from harness.assembly import READ_PUBLISHED_EVENTS, synthesize
from harness.chaos.invariants import INVARIANTS, Observed
from harness.inprocess import InProcess, deployed
from harness.orders import STOCKED, US_ADDRESS, Kind, of_kind
from harness.seed import DEMO_CATALOGUE, set_stock, stock
from lambdas.domain.states import Compensation, Step


def fault_plan(seed: int) -> dict[str, Any]:
    plan: dict[str, Any] = {"seed": seed}
    for step in Step:
        plan[step.value] = {"transient": 0.08, "permanent": 0.01, "latency": 0.05, "latency_ms": 20}
    for compensation in Compensation:
        plan[compensation.value] = {"transient": 0.15, "permanent": 0.02, "latency": 0.05, "latency_ms": 20}
    return plan


KIND_ROLLS = ((0.05, Kind.UNKNOWN_MED), (0.10, Kind.NO_STOCK), (0.15, Kind.UNDELIVERABLE), (0.18, Kind.INVALID))
"""A roll below each bound makes that kind of order (the rest are valid)."""


@dataclass(frozen=True)
class ChaosOrder:
    order_id: str
    kind: Kind
    detail: dict[str, Any]
    deliveries: int
    concurrent: bool


def plan_orders(count: int, rng: random.Random, run_id: str) -> list[ChaosOrder]:
    orders = []
    for number in range(count):
        order_id = f"chaos-{run_id}-{number:05d}"
        # Up to 3 units a line, never above the medication's per-prescription maximum: a valid order's
        # lines pass the catalogue, and each refused kind fails for its own reason, not at the prescription.
        lines = [
            {"medication_id": m, "quantity": rng.randint(1, min(3, DEMO_CATALOGUE[m][1]))}
            for m in rng.sample(STOCKED, rng.randint(1, 2))
        ]
        roll = rng.random()
        kind = next((kind for bound, kind in KIND_ROLLS if roll < bound), Kind.VALID)
        # Half the valid ones ship to an address of their own, the others to the one on file.
        extra = {"shipping_address": US_ADDRESS} if kind is Kind.VALID and roll < 0.5 else {}
        detail = of_kind(kind, order_id, *lines, **extra)
        detail["patient_id"] = f"p-{rng.randrange(10**6)}"
        orders.append(ChaosOrder(order_id, kind, detail, deliveries=rng.randint(1, 3), concurrent=rng.random() < 0.3))
    return orders


@dataclass
class Report:
    sagas: int = 0
    pharmacy: str = "built-in tables"
    """Where the steps ran."""
    deliveries: int = 0
    duplicates: int = 0
    wall_seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    figures: Counter[str] = field(default_factory=Counter)
    """What the steps' own systems hold and received, when they can be read (over HTTP: the pharmacy's)."""
    final_states: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    """Pharmacists' answers and cancellations by kind and what became of them (harness/chaos/requests.py)."""
    unfinished: list[str] = field(default_factory=list)
    violations: dict[str, list[str]] = field(default_factory=dict)

    def check(self, invariant: str, problems: list[str]) -> None:
        self.violations[invariant] = problems

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())


def run(sagas: int, seed: int = 7, concurrency: int = 8, timeout: float = 1800.0) -> Report:
    rng = random.Random(seed)
    report = Report(sagas=sagas)
    assembly = synthesize(fault_injection=True, context=READ_PUBLISHED_EVENTS)
    with deployed(assembly) as cloud:
        stock_for(cloud, sagas)
        initial = stock(cloud)
        plan = fault_plan(seed)
        cloud.set_faults(plan)
        orders = plan_orders(sagas, rng, run_id=f"{seed}")
        states = send_and_settle(cloud, orders, report, concurrency=concurrency, timeout=timeout)
        report.faults = Counter(e[1] for e in cloud.local.runtime.errors if e[1].startswith("Injected"))
        observed = Observed(cloud, [o.order_id for o in orders], states, report.unfinished, initial, plan)
        for invariant, check in INVARIANTS.items():
            report.check(invariant, check(observed))
    return report


def send_and_settle(
    target: InProcess, orders: list[ChaosOrder], report: Report, *, concurrency: int, timeout: float
) -> dict[str, str]:
    """Deliver every order its 1 to 3 times from `concurrency` senders, then wait for every saga:
    each settled saga's state (the unsettled ones go to `report.unfinished`)."""
    report.deliveries = sum(o.deliveries for o in orders)
    report.duplicates = report.deliveries - len(orders)
    started = time.perf_counter()

    def deliver(order: ChaosOrder) -> None:
        sending.deliver(target, order.detail, order.deliveries, at_once=order.concurrent)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(deliver, orders))
    # A saga still unsettled at the timeout is not an exception: the first invariant counts it.
    views, report.unfinished = target.settle([o.order_id for o in orders], timeout=timeout)
    states = {order_id: view.state.value for order_id, view in views.items()}
    report.wall_seconds = time.perf_counter() - started
    report.final_states = Counter(states.values())
    return states


def stock_level(sagas: int) -> int:
    """Units of each stocked medication for about two thirds of the demand, so some reservations fail for real."""
    return max(5, sagas // 2)


def stock_for(cloud: InProcess, sagas: int) -> None:
    for medication in STOCKED:
        set_stock(cloud, medication, stock_level(sagas))


def print_report(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=None if Console().is_terminal else 140)
    table = Table(
        title=f"chaos: {report.sagas} sagas, {report.deliveries} deliveries ({report.duplicates} duplicates); "
        f"steps: {report.pharmacy}"
    )
    table.add_column("invariant")
    table.add_column("violations", justify="right")
    for invariant, problems in report.violations.items():
        colour = "green" if not problems else "red"
        table.add_row(invariant, f"[{colour}]{len(problems)}[/{colour}]")
    console.print(table)
    console.print(f"final states: {dict(report.final_states)}")
    console.print(f"faults injected: {dict(report.faults)} · wall time {report.wall_seconds:.1f} s")
    if report.figures:
        # The requests run's figures are what it sent, by scenario; the others', what the steps' systems hold.
        where = "requests sent" if report.requests else "at the steps' systems"
        console.print(f"{where}: {dict(report.figures)}")
    if report.requests:
        console.print(f"requests recorded: {dict(sorted(report.requests.items()))}")
    for invariant, problems in report.violations.items():
        for problem in problems[:5]:
            # Plain text, never markup: a problem quotes ids and messages the run met (a record id, a
            # refusal's message), and a `[` in them must print as itself, not style or break the output.
            console.print(Text.assemble(("✗", "red"), f" {invariant}: {problem}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sagas", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", dest="json_report", help="also write the figures to this JSON file")
    parser.add_argument(
        "--pharmacy",
        choices=("builtin", "reference"),
        default="builtin",
        help="the steps on the built-in tables (faults injected in the functions), or over HTTP against "
        "the reference pharmacy (faults injected by it)",
    )
    parser.add_argument(
        "--requests",
        action="store_true",
        help="sagas waiting for a pharmacist, with answers and cancellations at random moments (built-in tables)",
    )
    args = parser.parse_args(argv)
    if args.requests:
        from harness.chaos import requests

        report = requests.run(args.sagas, seed=args.seed, concurrency=args.concurrency)
    elif args.pharmacy == "reference":
        from harness.chaos import over_http

        report = over_http.run(args.sagas, seed=args.seed, concurrency=args.concurrency)
    else:
        report = run(args.sagas, seed=args.seed, concurrency=args.concurrency)
    print_report(report)
    if args.json_report:
        with open(args.json_report, "w") as file:
            json.dump(
                {
                    "sagas": report.sagas,
                    "steps": report.pharmacy,
                    "deliveries": report.deliveries,
                    "duplicates": report.duplicates,
                    "wall_seconds": round(report.wall_seconds, 1),
                    "faults": dict(report.faults),
                    "figures": dict(report.figures),
                    "final_states": dict(report.final_states),
                    "requests": dict(report.requests),
                    "violations": {k: len(v) for k, v in report.violations.items()},
                },
                file,
                indent=2,
            )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
