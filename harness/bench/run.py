"""`make bench`: throughput against the engine floor, what one saga uses per path, and what it costs.

Everything is measured in one run, side by side, on this machine: the local cloud is a
model of AWS, so its absolute speed says little; the ratio to the floor, the resource
counts per saga and the import times are what carry over. The local cloud's own memory per
1,000 sagas, with and without retention, is measured there too (localcloud/bench_memory.py).
Prints one JSON summary and a short table.

    python -m harness.bench.run [--orders 1000] [--json bench-report.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import threading
import time
from base64 import b64decode
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.sqs.models import SQSBackend

from harness.assembly import synthesize
from harness.bench import cpu_layers
from harness.bench import memory as bench_memory
from harness.inprocess import InProcess, deployed
from harness.orders import Kind, of_kind
from harness.waiting import poll
from infra import names
from localcloud.deploy import CloudAssembly

PRICES = Path(__file__).with_name("prices.json")
MEMORY_GB = 256 / 1024
"""Every function has 256 MB (infra/functions.py)."""
IMPORT_RUNS = 5
HANDLERS = [names.handler_path(name).rpartition(".")[0] for name in names.ALL_FUNCTIONS]
PATHS: dict[str, Kind] = {
    "happy": Kind.VALID,
    "fails_at_prescription": Kind.UNKNOWN_MED,
    "fails_at_inventory": Kind.NO_STOCK,
    "fails_at_shipment": Kind.UNDELIVERABLE,
    "rejected": Kind.INVALID,
}
"""One order per path the saga can take; each runs alone so its counts are its own."""


# --- imports -------------------------------------------------------------------------------


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def import_times(runs: int = IMPORT_RUNS) -> dict[str, Any]:
    """Median seconds to import boto3 and each handler in a fresh interpreter, interleaved run by run."""
    samples: dict[str, list[float]] = {m: [] for m in ["boto3", *HANDLERS]}
    for _ in range(runs):
        for module in samples:
            samples[module].append(_import_seconds(module))
    boto3 = statistics.median(samples["boto3"])
    handlers = {m.rpartition(".")[2]: statistics.median(samples[m]) for m in HANDLERS}
    return {
        "runs": runs,
        "boto3_seconds": round(boto3, 4),
        "handler_seconds": {k: round(v, 4) for k, v in handlers.items()},
        "worst_ratio_to_boto3": round(max(handlers.values()) / boto3, 2),
        "budget_ratio": 1.5,
    }


def asset_size(assembly: CloudAssembly) -> dict[str, Any]:
    folder = next(
        assembly.directory / asset["source"]["path"]
        for asset in assembly.assets["files"].values()
        if asset["source"].get("packaging") == "zip"
    )
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"files": len(files), "megabytes": round(sum(p.stat().st_size for p in files) / 1e6, 1)}


# --- counting what a saga uses -------------------------------------------------------------


def _value_size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (strings in UTF-8, numbers ~1 byte per 2 digits)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return (len(inner.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    return sum(_value_size({kind[0]: v}) for v in inner)  # SS, NS, BS


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _write_units(item: dict[str, Any] | None) -> int:
    return max(1, math.ceil(item_size(item) / 1024)) if item else 1


def _read_units(items: list[dict[str, Any]], consistent: bool) -> float:
    """Request units of one read: 4 KB blocks of what was read, half for eventually consistent."""
    blocks = max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
    return blocks * (1.0 if consistent else 0.5)


@dataclass
class Usage:
    """What the handlers asked of the billed services (event source polling counted separately)."""

    dynamodb_write_units: float = 0.0
    dynamodb_read_units: float = 0.0
    dynamodb_requests: Counter[str] = field(default_factory=Counter)
    eventbridge_events: int = 0
    sqs_sends: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def dynamodb_request(self, operation: str, params: dict[str, Any]) -> None:
        """Writes are charged whether or not their condition holds: count them as requested."""
        with self._lock:
            self.dynamodb_requests[operation] += 1
            if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                self.dynamodb_write_units += _write_units(params.get("Item"))
            elif operation == "TransactWriteItems":
                for action in params["TransactItems"]:
                    (body,) = action.values()
                    self.dynamodb_write_units += 2 * _write_units(body.get("Item"))

    def dynamodb_response(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        with self._lock:
            if operation == "GetItem":
                item = parsed.get("Item")
                self.dynamodb_read_units += _read_units([item] if item else [], bool(params.get("ConsistentRead")))
            elif operation == "Query":
                self.dynamodb_read_units += _read_units(parsed.get("Items", []), bool(params.get("ConsistentRead")))
            elif operation == "BatchGetItem":
                for table, request in params["RequestItems"].items():
                    consistent = bool(request.get("ConsistentRead"))
                    items = parsed.get("Responses", {}).get(table, [])
                    unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                    # A key that is not there still costs the minimum read, as on AWS.
                    missing = len(request["Keys"]) - unprocessed - len(items)
                    self.dynamodb_read_units += sum(_read_units([i], consistent) for i in items)
                    self.dynamodb_read_units += missing * _read_units([], consistent)

    def events_put(self, entries: int) -> None:
        with self._lock:
            self.eventbridge_events += entries

    def message_sent(self) -> None:
        with self._lock:
            self.sqs_sends += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "dynamodb_write_units": self.dynamodb_write_units,
                "dynamodb_read_units": self.dynamodb_read_units,
                "dynamodb_requests": dict(self.dynamodb_requests),
                "eventbridge_events": self.eventbridge_events,
                "sqs_sends": self.sqs_sends,
            }


@contextmanager
def metered(cloud: InProcess) -> Iterator[Usage]:
    """Count the handlers' DynamoDB and EventBridge requests, and every SQS message sent."""
    from lambdas.adapters.aws_services import client

    usage = Usage()
    pending: dict[int, dict[str, Any]] = {}

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        pending[id(context)] = params
        usage.dynamodb_request(model.name, params)

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        usage.dynamodb_response(model.name, pending.pop(id(context), {}), parsed)

    def put_events(params: dict[str, Any], **_: Any) -> None:
        usage.events_put(len(params["Entries"]))

    dynamodb, events = client("dynamodb"), client("events")
    dynamodb.meta.events.register("before-parameter-build.dynamodb", before, unique_id="bench-before")
    dynamodb.meta.events.register("after-call.dynamodb", after, unique_id="bench-after")
    events.meta.events.register("before-parameter-build.eventbridge.PutEvents", put_events, unique_id="bench")
    original_send = SQSBackend.send_message

    def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        usage.message_sent()
        return original_send(self, *args, **kwargs)

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    try:
        yield usage
    finally:
        SQSBackend.send_message = original_send  # type: ignore[method-assign]
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", unique_id="bench-before")
        dynamodb.meta.events.unregister("after-call.dynamodb", unique_id="bench-after")
        events.meta.events.unregister("before-parameter-build.eventbridge.PutEvents", unique_id="bench")


def _handler_name(physical_name: str) -> str:
    """`OrderFulfillment-FunctionsCreatePrescriptionD47AB691-XYZ` -> `create_prescription`."""
    logical = physical_name.split("-")[1].removeprefix("Functions").rstrip("0123456789ABCDEF")
    return next(n for n in names.ALL_FUNCTIONS if names.construct_id(n) == logical)


def _function_usage(cloud: InProcess) -> tuple[dict[str, int], dict[str, float], int]:
    durations = {f: list(d) for f, d in cloud.local.runtime.durations.items()}
    invocations = {_handler_name(f): len(d) for f, d in durations.items()}
    seconds = {_handler_name(f): sum(d) for f, d in durations.items()}
    log_bytes = sum(len(line.text.encode()) + 26 for line in cloud.local.logs)  # CloudWatch adds 26 bytes per event
    return invocations, seconds, log_bytes


def _transitions(cloud: InProcess, order_id: str) -> int:
    """State transitions of the saga's execution (each state entered once per attempt), 0 if none ran."""
    sfn = cloud.client("stepfunctions")
    arn = cloud.outputs[names.OUTPUT_STATE_MACHINE].replace(":stateMachine:", ":execution:") + f":{order_id}"
    try:
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    except sfn.exceptions.ExecutionDoesNotExist:
        return 0
    return sum(1 for e in history if e["type"].endswith("StateEntered"))


def per_path_usage(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    """Run one order down each path, alone, and count what it used."""
    found: dict[str, dict[str, Any]] = {}
    with deployed(assembly) as cloud:
        cloud.local.wait_until_idle()
        with metered(cloud) as usage:
            for path, kind in PATHS.items():
                invocations0, seconds0, logs0 = _function_usage(cloud)
                usage0, sqs0 = usage.snapshot(), cloud.local.sqs_poll_requests()
                order_id = f"bench-{path.replace('_', '-')}"
                cloud.put_order(of_kind(kind, order_id))
                state = cloud.wait_for_sagas([order_id])[order_id]
                invocations1, seconds1, logs1 = _function_usage(cloud)
                now = usage.snapshot()
                calls = {f: n - invocations0.get(f, 0) for f, n in invocations1.items() if n > invocations0.get(f, 0)}
                found[path] = {
                    "final_state": state,
                    "state_transitions": _transitions(cloud, order_id),
                    "lambda_invocations": calls,
                    "lambda_seconds": round(sum(seconds1.values()) - sum(seconds0.values()), 4),
                    "dynamodb_write_units": now["dynamodb_write_units"] - usage0["dynamodb_write_units"],
                    "dynamodb_read_units": now["dynamodb_read_units"] - usage0["dynamodb_read_units"],
                    "dynamodb_requests": dict(Counter(now["dynamodb_requests"]) - Counter(usage0["dynamodb_requests"])),
                    # the order event you put on the bus, and the domain events the publisher puts
                    "eventbridge_events": 1 + now["eventbridge_events"] - usage0["eventbridge_events"],
                    "sqs_requests": now["sqs_sends"] - usage0["sqs_sends"] + cloud.local.sqs_poll_requests() - sqs0,
                    "log_bytes": logs1 - logs0,
                }
    return found


def cost_model(paths: dict[str, dict[str, Any]], prices: dict[str, Any]) -> dict[str, Any]:
    """Dollars per million orders, per path and per line, from the counts and the dated price table."""
    price = prices["prices_usd"]
    per_path: dict[str, Any] = {}
    for path, used in paths.items():
        invocations = sum(used["lambda_invocations"].values())
        # Lambda bills each invocation's duration rounded up to the millisecond
        gb_seconds = (used["lambda_seconds"] + invocations * 0.0005) * MEMORY_GB
        lines = {
            "lambda_requests": invocations * price["lambda_request"],
            "lambda_duration": gb_seconds * price["lambda_arm64_gb_second"],
            "stepfunctions_transitions": used["state_transitions"] * price["stepfunctions_standard_state_transition"],
            "dynamodb_writes": used["dynamodb_write_units"] * price["dynamodb_on_demand_write_request_unit"],
            "dynamodb_reads": used["dynamodb_read_units"] * price["dynamodb_on_demand_read_request_unit"],
            "eventbridge_events": used["eventbridge_events"] * price["eventbridge_custom_event"],
            "sqs_requests": used["sqs_requests"] * price["sqs_standard_request"],
            "cloudwatch_logs": used["log_bytes"] / 1e9 * price["cloudwatch_logs_ingested_gb"],
        }
        per_million = {line: round(cost * 1e6, 2) for line, cost in lines.items()}
        per_path[path] = {
            "usd_per_million_orders": round(sum(per_million.values()), 2),
            "by_line": per_million,
            "biggest_line": max(per_million, key=lambda line: per_million[line]),
        }
    return {"prices_as_published": prices["as_published"], "region": prices["region"], "paths": per_path}


# --- throughput ----------------------------------------------------------------------------


def full_run(
    assembly: CloudAssembly,
    orders: int,
    concurrency: int,
    window: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> dict[str, Any]:
    """`orders` orders of the default mix, end to end: EventBridge -> SQS -> saga -> projection.

    `window` is entered for exactly the span whose CPU is measured."""
    from harness import load

    with deployed(assembly) as target:
        planned = load.plan(orders, load.parse_mix(load.DEFAULT_MIX), run_id="bench")
        load.prepare_stock(target, orders)
        with window():
            cpu_started = time.process_time()
            result = load.run_load(target, planned, concurrency, timeout=max(600.0, orders * 2.0))
            cpu = time.process_time() - cpu_started
        summary = result.report()
    return {
        "orders": orders,
        "mix": load.DEFAULT_MIX,
        "as_predicted": summary["as_predicted"],
        "final_states": summary["final_states"],
        "sagas_per_second": summary["throughput_sagas_per_second"],
        "latency_seconds": {k: _rounded(summary["latency_seconds"][k]) for k in ("p50", "p99")},
        "wall_seconds": summary["wall_seconds"],
        "cpu_ms_per_saga": round(1000 * cpu / orders, 1),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _no_op(event: Any, context: Any) -> dict[str, Any]:
    return {}


FLOOR_IN_FLIGHT = 32
"""Executions the floor keeps running at once: about what the saga run has in flight."""


def floor_run(
    assembly: CloudAssembly, executions: int, window: Callable[[], AbstractContextManager[Any]] = nullcontext
) -> dict[str, Any]:
    """The same state machine on the same local cloud, every task a no-op, started directly."""
    with deployed(assembly, seeded=False) as cloud:
        for name in names.ALL_FUNCTIONS:
            cloud.local.runtime.replacements[names.handler_path(name)] = _no_op
        sfn = cloud.client("stepfunctions")
        arn = cloud.outputs[names.OUTPUT_STATE_MACHINE]
        with window():
            started = time.perf_counter()
            cpu_started = time.process_time()
            _start_paced(cloud, sfn, arn, executions)
            statuses = _wait_for_executions(cloud, arn, executions, timeout=max(600.0, executions * 2.0))
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        failures = Counter(e[1] for e in cloud.local.runtime.errors)
        engine_failures: Counter[str] = Counter()
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="FAILED"):
            for execution in page["executions"]:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                engine_failures[f"{described.get('error')}: {str(described.get('cause'))[:160]}"] += 1
    ended = statuses.total() - statuses["RUNNING"]
    return {
        "executions": executions,
        "statuses": dict(statuses),
        "function_errors": dict(failures),
        "failures": dict(engine_failures),
        "succeeded": statuses["SUCCEEDED"],
        "executions_per_second": round(ended / wall, 2),
        "wall_seconds": round(wall, 3),
        "cpu_ms_per_execution": round(1000 * cpu / executions, 1),
    }


def _start_paced(cloud: InProcess, sfn: Any, arn: str, executions: int) -> None:
    # Paced, as the start queue's pollers pace the saga's executions: all 1,000 at once would
    # queue tasks past their 60 s timeout and send the no-ops down the failure path.
    sent = 0
    while sent < executions:
        room = FLOOR_IN_FLIGHT - cloud.local.running_executions()
        for number in range(sent, min(executions, sent + max(0, room))):
            sfn.start_execution(stateMachineArn=arn, name=f"floor-{number:06d}", input='{"order_id": "floor"}')
            sent += 1
        time.sleep(0.02)


def _wait_for_executions(cloud: InProcess, arn: str, expected: int, timeout: float) -> Counter[str]:
    """Wait until `expected` executions of the machine have ended (or `timeout`); count them by status."""
    sfn = cloud.client("stepfunctions")
    statuses: Counter[str] = Counter()

    def ended() -> bool | None:
        statuses.clear()
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            statuses.update(execution["status"] for execution in page["executions"])
        return True if statuses.total() - statuses["RUNNING"] >= expected else None

    poll(ended, timeout, pause=lambda: 0.5)
    return statuses


# --- where the CPU goes ---------------------------------------------------------------------

BREAKDOWN_ORDERS = 300
"""Orders (and floor executions) of the pass that charges CPU to layers: a pass of its own, so
the headline figures are measured with nothing wrapped."""

FREE_SERVICES: dict[str, frozenset[str] | None] = {
    "dynamodb": frozenset({"dynamodb"}),
    "dynamodb+events": frozenset({"dynamodb", "events"}),
    "every_aws_service": None,
}
"""What the breakdown supposes free, each in turn, to show how far the ratio could move."""


def cpu_breakdown(assembly: CloudAssembly, orders: int, concurrency: int) -> dict[str, Any]:
    """A saga's and a floor execution's CPU by layer (localcloud/cpu_layers.py), in a pass of
    their own, and the CPU ratio were some services' requests and emulation free."""
    clock = cpu_layers.LayerClock()
    with cpu_layers.measured(clock):
        full = full_run(assembly, orders, concurrency, window=clock.window)
        saga = cpu_layers.breakdown(clock.seconds.copy(), full["cpu_ms_per_saga"], orders)
        floor = floor_run(assembly, orders, window=clock.window)
        engine = cpu_layers.breakdown(clock.seconds.copy(), floor["cpu_ms_per_execution"], orders)
    return {
        "orders": orders,
        "as_predicted": full["as_predicted"],
        "saga_ms": saga,
        "floor_ms": engine,
        "cpu_ratio": round(engine["total"] / saga["total"], 2),
        "cpu_ratio_if_free": {
            name: cpu_layers.ratio_if_free(saga, engine, services) for name, services in FREE_SERVICES.items()
        },
    }


# --- the report ----------------------------------------------------------------------------

MEMORY_BATCHES = 4
MEMORY_BATCH_ORDERS = 250
"""The memory pass (localcloud/bench_memory.py): four batches per run, the retention one batch's sagas,
so three batches show whether RSS stays flat after the limit."""


def run(orders: int, concurrency: int = 8, import_runs: int = IMPORT_RUNS) -> dict[str, Any]:
    # Imports first: fresh interpreters timed while no local cloud's threads share the cores.
    imports = import_times(import_runs)
    assembly = synthesize()
    prices = json.loads(PRICES.read_text())
    paths = per_path_usage(assembly)
    full = full_run(assembly, orders, concurrency)
    floor = floor_run(assembly, orders)
    breakdown = cpu_breakdown(assembly, min(orders, BREAKDOWN_ORDERS), concurrency)
    memory = bench_memory.memory(MEMORY_BATCHES, MEMORY_BATCH_ORDERS, concurrency)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": sys.version.split()[0]},
        "throughput": {
            "saga": full,
            "engine_floor": floor,
            "ratio_to_floor": round(full["sagas_per_second"] / floor["executions_per_second"], 2),
            "goal_ratio": 0.5,
            # The process's CPU per saga and per floor execution, over the same windows: on a shared
            # machine other tenants move the wall-clock rates, much less the CPU each one costs.
            "cpu_ratio_to_floor": round(floor["cpu_ms_per_execution"] / full["cpu_ms_per_saga"], 2),
            "cpu_breakdown": breakdown,
        },
        "per_saga": paths,
        "cost": cost_model(paths, prices),
        "imports": imports,
        "asset": asset_size(assembly),
        "memory": memory,
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def print_table(report: dict[str, Any], out: Callable[[str], None] = print) -> None:
    throughput = report["throughput"]
    saga, floor = throughput["saga"], throughput["engine_floor"]
    out(
        f"throughput  saga {saga['sagas_per_second']}/s (p50 {saga['latency_seconds']['p50']} s, "
        f"p99 {saga['latency_seconds']['p99']} s) · floor {floor['executions_per_second']}/s · "
        f"ratio {throughput['ratio_to_floor']} (goal ≥ {throughput['goal_ratio']})"
    )
    out(
        f"cpu         {saga['cpu_ms_per_saga']} ms per saga · {floor['cpu_ms_per_execution']} ms per floor "
        f"execution · ratio {throughput['cpu_ratio_to_floor']}"
    )
    breakdown = throughput.get("cpu_breakdown")
    if breakdown:
        out(f"cpu layers  saga {_layers(breakdown['saga_ms'])}")
        out(f"            floor {_layers(breakdown['floor_ms'])}")
        free = " · ".join(f"{name} {ratio}" for name, ratio in breakdown["cpu_ratio_if_free"].items())
        out(f"if free     cpu ratio were these free of charge: {free} ({breakdown['orders']} orders)")
    header = ("path", "transitions", "lambdas", "WRU", "RRU", "events", "sqs", "$/M")
    out("{:24} {:>11} {:>7} {:>6} {:>6} {:>6} {:>4} {:>8}  biggest".format(*header))
    for path, used in report["per_saga"].items():
        cost = report["cost"]["paths"][path]
        out(
            f"{path:24} {used['state_transitions']:>11} {sum(used['lambda_invocations'].values()):>7} "
            f"{used['dynamodb_write_units']:>6g} {used['dynamodb_read_units']:>6g} {used['eventbridge_events']:>6} "
            f"{used['sqs_requests']:>4} {cost['usd_per_million_orders']:>8.2f}  {cost['biggest_line']}"
        )
    memory = report.get("memory")
    if memory:
        retained = memory["with_retention"]
        rss = " → ".join(f"{mb:g}" for mb in retained["rss_mb_after_each_batch"])
        out(
            f"memory      {memory['mb_per_thousand_sagas_without_retention']} MB per 1,000 sagas without retention "
            f"· retaining {retained['retention']['sagas']}: RSS {rss} MB after each {memory['batch_orders']}, "
            f"{memory['mb_per_thousand_sagas_after_limit']} MB per 1,000 past the limit "
            f"(goal < {memory['goal_mb_per_thousand_sagas']:g})"
        )
    imports = report["imports"]
    out(
        f"imports     boto3 {imports['boto3_seconds']} s · slowest handler ratio {imports['worst_ratio_to_boto3']} "
        f"(budget ≤ {imports['budget_ratio']}) · asset {report['asset']['megabytes']} MB"
    )


def _layers(ms: dict[str, Any]) -> str:
    def kind(by_service: dict[str, float]) -> str:
        total = round(float(sum(by_service.values())), 1)
        top = ", ".join(f"{name} {value}" for name, value in list(by_service.items())[:3])
        return f"{total} ({top})" if top else f"{total}"

    return (
        f"{ms['total']} ms: handlers {ms['handler_code']} · "
        f"requests {kind(ms['requests'])} · "
        f"emulation {kind(ms['emulation'])} · "
        f"gc {ms['gc']} · engine and other {ms['engine_and_other']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--import-runs", type=int, default=IMPORT_RUNS)
    parser.add_argument("--json", dest="json_report", help="also write the summary to this file")
    args = parser.parse_args(argv)
    report = run(args.orders, args.concurrency, args.import_runs)
    print(json.dumps(report, indent=2))
    print_table(report)
    if args.json_report:
        Path(args.json_report).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
