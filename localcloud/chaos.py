"""Chaos run: many sagas, random faults and business failures, duplicated deliveries; then the invariants.

    python -m localcloud.chaos --sagas 2000        # make chaos
    python -m localcloud.chaos --sagas 200         # part of make test

Exit status 1 when any invariant has a violation.
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

from infra import names
from lambdas.adapters.business_tables import read_stock
from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.domain import events as ev
from lambdas.domain.states import Compensation, Step
from lambdas.logic.faults import _draw
from lambdas.logic.project import replay
from localcloud.cloud import EXPECTED_FUNCTION_ERRORS, POISON_MESSAGE_ERRORS, LocalCloud
from localcloud.deploy import synthesize
from localcloud.seed import seed, set_stock

MEDICATIONS = ("med-1", "med-2", "med-3", "med-4")
EXPECTED_ERRORS = EXPECTED_FUNCTION_ERRORS | POISON_MESSAGE_ERRORS
US = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def fault_plan(seed: int) -> dict[str, Any]:
    plan: dict[str, Any] = {"seed": seed}
    for step in Step:
        plan[step.value] = {"transient": 0.08, "permanent": 0.01, "latency": 0.05, "latency_ms": 20}
    for compensation in Compensation:
        plan[compensation.value] = {"transient": 0.15, "permanent": 0.02, "latency": 0.05, "latency_ms": 20}
    return plan


@dataclass(frozen=True)
class ChaosOrder:
    order_id: str
    detail: dict[str, Any]
    deliveries: int
    concurrent: bool


def plan_orders(count: int, rng: random.Random, run_id: str) -> list[ChaosOrder]:
    orders = []
    for number in range(count):
        order_id = f"chaos-{run_id}-{number:05d}"
        lines: list[Any] = [
            {"medication_id": med, "quantity": rng.randint(1, 3)} for med in rng.sample(MEDICATIONS, rng.randint(1, 2))
        ]
        detail: dict[str, Any] = {"order_id": order_id, "patient_id": f"p-{rng.randrange(10**6)}", "medications": lines}
        roll = rng.random()
        if roll < 0.05:
            lines.append("med-unknown")
        elif roll < 0.10:
            lines.append("med-scarce")
        elif roll < 0.15:
            detail["shipping_address"] = {**US, "country": "AQ"}
        elif roll < 0.18:
            detail["medications"] = []
        elif roll < 0.5:
            detail["shipping_address"] = US
        orders.append(ChaosOrder(order_id, detail, deliveries=rng.randint(1, 3), concurrent=rng.random() < 0.3))
    return orders


@dataclass
class Report:
    sagas: int = 0
    deliveries: int = 0
    duplicates: int = 0
    wall_seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    final_states: Counter[str] = field(default_factory=Counter)
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
    assembly = synthesize(fault_injection=True)
    with LocalCloud.start() as cloud:
        cloud.deploy(assembly)
        dynamodb = cloud.client("dynamodb")
        seed_data(cloud, sagas)
        initial = read_stock(dynamodb, cloud.outputs[names.OUTPUT_INVENTORY_TABLE])
        plan = fault_plan(seed)
        cloud.set_faults(plan)
        orders = plan_orders(sagas, rng, run_id=f"{seed}")
        report.deliveries = sum(o.deliveries for o in orders)
        report.duplicates = report.deliveries - len(orders)
        started = time.perf_counter()

        def deliver(order: ChaosOrder) -> None:
            if order.concurrent:
                cloud.put_order_at_once(order.detail, order.deliveries)
            else:
                for _ in range(order.deliveries):
                    cloud.put_order(order.detail)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(deliver, orders))
        # A saga still unsettled at the timeout is not an exception: invariant 1 counts it.
        states, report.unfinished = cloud.settle([o.order_id for o in orders], timeout=timeout)
        report.wall_seconds = time.perf_counter() - started
        report.final_states = Counter(states.values())
        report.faults = Counter(e[1] for e in cloud.runtime.errors if e[1].startswith("Injected"))
        check_invariants(cloud, report, orders, states, initial, plan)
    return report


def seed_data(cloud: LocalCloud, sagas: int) -> None:
    """The demo catalogue; stock for about two thirds of the demand, so some reservations fail for real."""
    dynamodb = cloud.client("dynamodb")
    seed(dynamodb, cloud.outputs)
    for medication in MEDICATIONS:
        set_stock(dynamodb, cloud.outputs, medication, max(5, sagas // 2))


def check_invariants(  # noqa: C901 - one block per invariant, read top to bottom
    cloud: LocalCloud,
    report: Report,
    orders: list[ChaosOrder],
    states: dict[str, str],
    initial: dict[str, tuple[int, int]],
    plan: dict[str, Any],
) -> None:
    dynamodb = cloud.client("dynamodb")
    outputs = cloud.outputs
    store = DynamoDBEventStore(dynamodb, outputs[names.OUTPUT_EVENT_STORE_TABLE])
    histories: dict[str, list[ev.StoredEvent]] = {}
    for stored in store.iter_all():
        histories.setdefault(stored.metadata.correlation_id, []).append(stored)
    tables = {t.split("-")[1][:-8]: t for t in dynamodb.list_tables()["TableNames"]}

    def scan(table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=tables[table]):
            items.extend(page["Items"])
        return items

    # 1. terminal states, and COMPENSATION_FAILED only where a compensation fault was permanent
    terminal = {"COMPLETED", "FAILED", "REJECTED", "COMPENSATION_FAILED"}
    problems = [f"{o}: unfinished after the wait" for o in report.unfinished]
    problems += [f"{o}: {s}" for o, s in states.items() if s not in terminal]
    for order_id, state in states.items():
        if state != "COMPENSATION_FAILED":
            continue
        failed = [e for e in histories[order_id] if e.type == ev.CompensationFailed.TYPE_KEY][-1]
        compensation = failed.payload["compensation"]
        permanent = plan[compensation]["permanent"]
        if _draw(plan["seed"], order_id, compensation, 0, "permanent") >= permanent:
            problems.append(f"{order_id}: parked at {compensation} without a permanent fault")
    report.check("every saga ends; parked only on a permanent compensation fault", problems)

    # 2. stock conserved: initial = available + reserved; reserved = lines of reservations still RESERVED
    reservations = scan("BusinessTablesReservations")
    held: Counter[str] = Counter()
    for reservation in reservations:
        if reservation["status"]["S"] == "RESERVED":
            for line in json.loads(reservation["lines"]["S"]):
                held[line["medication_id"]] += line["quantity"]
    now = read_stock(dynamodb, outputs[names.OUTPUT_INVENTORY_TABLE])
    problems = []
    for medication, (available, reserved) in now.items():
        before = sum(initial.get(medication, (0, 0)))
        if available + reserved != before:
            problems.append(f"{medication}: {available}+{reserved} != {before}")
        if reserved != held[medication] or available < 0:
            problems.append(f"{medication}: reserved {reserved}, held by reservations {held[medication]}")
    report.check("stock conserved (initial = available + reserved + shipped)", problems)

    # 3. a failed saga leaves nothing active behind
    failed_orders = {k for k, v in states.items() if v in {"FAILED", "REJECTED"}}
    problems = [
        r["order_id"]["S"]
        for r in reservations
        if r["status"]["S"] == "RESERVED" and r["order_id"]["S"] in failed_orders
    ]
    problems += [
        p["order_id"]["S"]
        for p in scan("BusinessTablesPrescriptions")
        if p["status"]["S"] == "ACTIVE" and p["order_id"]["S"] in failed_orders
    ]
    problems += [
        s["order_id"]["S"]
        for s in scan("BusinessTablesShipments")
        if s["status"]["S"] != "CANCELLED" and s["order_id"]["S"] in failed_orders
    ]
    report.check("a failed saga leaves no active prescription, reservation or shipment", problems)

    # 4. exactly one execution and one saga per order id
    sfn = cloud.client("stepfunctions")
    names_seen: Counter[str] = Counter()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=outputs[names.OUTPUT_STATE_MACHINE]):
        names_seen.update(e["name"] for e in page["executions"])
    problems = [f"{n}: {c} executions" for n, c in names_seen.items() if c > 1]
    for order in orders:
        starts = sum(
            1
            for e in histories.get(order.order_id, [])
            if e.type in {ev.OrderFulfillmentSagaStarted.TYPE_KEY, ev.OrderRejected.TYPE_KEY}
        )
        if starts != 1:
            problems.append(f"{order.order_id}: {starts} sagas")
        if states.get(order.order_id) != "REJECTED" and names_seen[order.order_id] != 1:
            problems.append(f"{order.order_id}: {names_seen[order.order_id]} executions")
    report.check("exactly one execution and one saga per order id", problems)

    # 5. the projection equals a replay of the event store
    live = {v.order_id: v for v in cloud.projection().all()}
    rebuilt = replay(e for stream in histories.values() for e in stream)
    problems = sorted(k for k in set(live) | set(rebuilt) if live.get(k) != rebuilt.get(k))
    report.check("the projection equals a replay of the event store", problems)

    # 6. every stored domain event was published
    drained = cloud.drain(outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])
    published = {json.loads(body)["detail"]["event_id"] for body in drained}
    stored_ids = {e.event_id for stream in histories.values() for e in stream}
    report.check("every stored domain event was published", sorted(stored_ids - published)[:20])

    # 7. no unhandled error in any function, nothing given up
    unexpected = [f"{f.split('-')[1]}: {t}: {m[:120]}" for f, t, m in cloud.runtime.errors if t not in EXPECTED_ERRORS]
    unexpected += [f"undelivered {u.function}: {u.reason[:120]}" for u in cloud.undelivered()]
    unexpected += [f"not delivered by {u.source}: {u.reason[:120]}" for u in cloud.undelivered_events()]
    unexpected += [f"refused: {r.message[:160]}" for r in cloud.refusals()]
    report.check("no unhandled error in any function", unexpected[:20])


def print_report(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 140)
    table = Table(title=f"chaos: {report.sagas} sagas, {report.deliveries} deliveries ({report.duplicates} duplicates)")
    table.add_column("invariant")
    table.add_column("violations", justify="right")
    for invariant, problems in report.violations.items():
        colour = "green" if not problems else "red"
        table.add_row(invariant, f"[{colour}]{len(problems)}[/{colour}]")
    console.print(table)
    console.print(f"final states: {dict(report.final_states)}")
    console.print(f"faults injected: {dict(report.faults)} · wall time {report.wall_seconds:.1f} s")
    for invariant, problems in report.violations.items():
        for problem in problems[:5]:
            console.print(f"[red]✗[/red] {invariant}: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sagas", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", dest="json_report", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    report = run(args.sagas, seed=args.seed, concurrency=args.concurrency)
    print_report(report)
    if args.json_report:
        with open(args.json_report, "w") as file:
            json.dump(
                {
                    "sagas": report.sagas,
                    "deliveries": report.deliveries,
                    "duplicates": report.duplicates,
                    "wall_seconds": round(report.wall_seconds, 1),
                    "faults": dict(report.faults),
                    "final_states": dict(report.final_states),
                    "violations": {k: len(v) for k, v in report.violations.items()},
                },
                file,
                indent=2,
            )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
