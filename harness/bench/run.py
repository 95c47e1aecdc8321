"""`make bench`: throughput against the engine floor, what one saga uses per path, its cost and capacity.

Everything is measured in one run, side by side, on this machine: the local cloud is a
model of AWS, so its absolute speed says little; the ratio to the floor, the resource
counts per saga and the import times are what carry over; the cost and the orders per second one
region carries are those counts against dated prices and default quotas, for the built-in tables
and, measured the same way, for steps calling the reference pharmacy over HTTP (`http_steps`: at
a stated pharmacy latency and token cache, http_model.py). The local cloud's own memory per
1,000 sagas, with and without retention, is measured there too (memory.py).
Prints one JSON summary and a short table.

    python -m harness.bench.run [--orders 1000] [--json bench-report.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.assembly import synthesize
from harness.bench import http_model
from harness.bench import memory as bench_memory
from harness.bench.capacity import capacity_model, load_quotas
from harness.bench.cost import PRICES, against_baseline, cost_model
from harness.bench.cpu import BREAKDOWN_ORDERS, cpu_breakdown
from harness.bench.imports import IMPORT_RUNS, asset_size, import_times
from harness.bench.report import print_table
from harness.bench.throughput import floor_run, full_run
from harness.bench.usage import per_path_usage, per_path_usage_over_http

MEMORY_BATCHES = 6
MEMORY_BATCH_ORDERS = 250
"""The memory pass (memory.py): six batches per run, the retention one batch's sagas,
so the median of four steps shows what grows past the limit."""


def run(orders: int, concurrency: int = 8, import_runs: int = IMPORT_RUNS) -> dict[str, Any]:
    # Imports first: fresh interpreters timed while no local cloud's threads share the cores.
    imports = import_times(import_runs)
    assembly = synthesize()
    prices, quotas = json.loads(PRICES.read_text()), load_quotas()
    paths, http_paths = per_path_usage(assembly), per_path_usage_over_http()
    full = full_run(assembly, orders, concurrency)
    floor = floor_run(assembly, orders)
    tables = priced(paths, prices, quotas)
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
        **tables,
        "cost_against_baseline": against_baseline(tables["cost"], prices),
        "http_steps": {"model": http_model.assumptions(), **priced(http_paths, prices, quotas)},
        "imports": imports,
        "asset": asset_size(assembly),
        "memory": memory,
    }


def priced(paths: dict[str, dict[str, Any]], prices: dict[str, Any], quotas: dict[str, Any]) -> dict[str, Any]:
    """One configuration's measured counts, what the model makes of them, their cost and capacity."""
    modelled = http_model.modelled_paths(paths)
    return {
        "per_saga": paths,
        "modelled": {
            path: {
                "lambda_seconds": used["lambda_seconds"],
                "secret_reads_per_order": round(used["secret_reads_per_order"], 6),
                "secret_reads_per_order_at_most": used["secret_reads_per_order_at_most"],
            }
            for path, used in modelled.items()
        },
        "cost": cost_model(modelled, prices),
        "capacity": capacity_model(modelled, quotas),
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


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
