"""`make bench`'s memory pass: resident memory per 1,000 sagas, without retention and with it.

Each run is a fresh interpreter (memory one run frees would otherwise flatter the next): it sends
batches of the default mix to a new local cloud and reads the process's resident set after each
batch has settled (with retention, after a sweep). Without retention the growth per 1,000 sagas is
what `saga local up` grew by before it had one; with retention the batches after the limit show
what still grows. It ends by sizing each store the sagas filled. Figures, never assertions: RSS
depends on the allocator and on what else the process has done.

    python -m harness.bench.memory [--batches 4] [--batch-orders 250] [--retain-sagas N]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import threading
import types
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.events.models import events_backends
from moto.logs.models import logs_backends
from moto.sqs.models import Queue, sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from harness.assembly import synthesize
from harness.inprocess import deployed
from localcloud.cloud import LocalCloud
from localcloud.deploy import CloudAssembly
from localcloud.retention import Retention, Sweeper

GOAL_MB_PER_THOUSAND = 50.0
RETAINED_MINUTES = 60.0
"""With retention, the saga count alone decides: the figures do not depend on this machine's speed."""


def resident_mb() -> float:
    """The process's resident set (VmRSS), in MB; 0.0 where /proc is not there to read."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


# --- what each store holds ------------------------------------------------------------------

_NOT_THE_STORES = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    BaseBackend,
    BackendDict,
    Table,
    StreamShard,
    Queue,
    LocalCloud,
    threading.Thread,
    threading.Event,
    threading.Condition,
    type(threading.Lock()),
    type(threading.RLock()),
)
"""Where a walk from a store's records stops: the back-references to the containers (a stream
record names its table, the table its backend, ...) would otherwise count everything everywhere."""


def _deep_size(root: object, seen: set[int]) -> int:
    """Bytes of `root` and of what it references, counting no object twice across calls."""
    size, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_THE_STORES):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return size


def store_sizes(cloud: LocalCloud) -> dict[str, float]:
    """MB each store of moto's (and the cloud's own) holds; the kept-by-design ones first, so
    what they share with the others is charged to them."""
    account, region = cloud.account, cloud.region
    tables = list(dynamodb_backends[account][region].tables.values())
    queues = list(sqs_backends[account][region].queues.values())
    stores: dict[str, Any] = {
        "dynamodb_items (kept)": [t.items for t in tables],
        "sqs_messages_not_deleted (kept)": [q._messages for q in queues],
        "dynamodb_stream_records": [t.stream_shard.items for t in tables if t.stream_shard],
        "stepfunctions_executions": stepfunctions_parser_backends[account][region]._get_executions(),
        "logs_streams_and_events": [g.streams for g in logs_backends[account][region].groups.values()],
        "cloud_log_lines": cloud.logs,
        "eventbridge_archived_events": [a.events for a in events_backends[account][region].archives.values()],
        "sqs_deleted_receipt_handles": [q.deleted_messages for q in queues],
        "lambda_invocation_records": [cloud.runtime.durations, cloud.runtime.errors],
    }
    seen: set[int] = {id(stores)}
    # The roots stay referenced by `stores` while walked: a freed temporary's id could be reused.
    return {name: round(_deep_size(root, seen) / 1e6, 2) for name, root in stores.items()}


# --- one run --------------------------------------------------------------------------------


def memory_run(
    assembly: CloudAssembly, batches: int, batch_orders: int, concurrency: int, retention: Retention | None
) -> dict[str, Any]:
    """`batches` batches of `batch_orders` orders on one cloud; RSS after each, swept first with retention."""
    from harness import load

    rss: list[float] = []
    as_predicted = True
    with deployed(assembly) as target:
        cloud = target.local
        load.prepare_stock(target, batches * batch_orders)
        sweeper = Sweeper(cloud, retention) if retention else None
        gc.collect()
        before = resident_mb()
        for batch in range(batches):
            planned = load.plan(batch_orders, load.parse_mix(load.DEFAULT_MIX), run_id=f"memory{batch}", seed=batch)
            result = load.run_load(target, planned, concurrency, timeout=max(600.0, batch_orders * 2.0))
            as_predicted = as_predicted and result.as_predicted
            cloud.wait_until_idle(timeout=60)
            if sweeper:
                sweeper.total.add(sweeper.sweep())
            gc.collect()
            rss.append(round(resident_mb(), 1))
        stores = store_sizes(cloud)
        forgotten = vars(sweeper.total) if sweeper else {}
    return {
        "retention": {"sagas": retention.sagas, "minutes": retention.minutes} if retention else None,
        "as_predicted": as_predicted,
        "rss_mb_before": round(before, 1),
        "rss_mb_after_each_batch": rss,
        "mb_per_thousand_sagas": round((rss[-1] - before) / (batches * batch_orders / 1000), 1),
        # From the first batch on: the process's one-time costs (imports, caches, pools) are behind it.
        "mb_per_thousand_sagas_after_the_first_batch": (
            round((rss[-1] - rss[0]) / ((batches - 1) * batch_orders / 1000), 1) if batches > 1 else None
        ),
        "store_mb": stores,
        "forgotten": forgotten,
    }


def _in_a_fresh_interpreter(batches: int, batch_orders: int, concurrency: int, retain: int | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "harness.bench.memory", "--batches", str(batches)]
    command += ["--batch-orders", str(batch_orders), "--concurrency", str(concurrency)]
    command += ["--retain-sagas", str(retain)] if retain is not None else []
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])  # the report is the last line
    return found


def memory(batches: int, batch_orders: int, concurrency: int) -> dict[str, Any]:
    """Side by side: no retention, then a retention of one batch's sagas.

    The limit is reached after the first batch, but the second batch's sagas live beside the
    first's until the sweep at its end: RSS has its high-water mark (two batches' traces) from the
    second batch on, so the growth past the limit is measured from there."""
    without = _in_a_fresh_interpreter(batches, batch_orders, concurrency, None)
    retained = _in_a_fresh_interpreter(batches, batch_orders, concurrency, batch_orders)
    past = retained["rss_mb_after_each_batch"][1:]
    growth = round((past[-1] - past[0]) / ((len(past) - 1) * batch_orders / 1000), 1) if len(past) > 1 else None
    return {
        "batch_orders": batch_orders,
        "without_retention": without,
        "with_retention": retained,
        "mb_per_thousand_sagas_without_retention": without["mb_per_thousand_sagas_after_the_first_batch"],
        "mb_per_thousand_sagas_after_limit": growth,
        "goal_mb_per_thousand_sagas": GOAL_MB_PER_THOUSAND,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-orders", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--retain-sagas", type=int, help="sweep after each batch, keeping this many sagas")
    args = parser.parse_args(argv)
    retention = None if args.retain_sagas is None else Retention(sagas=args.retain_sagas, minutes=RETAINED_MINUTES)
    print(json.dumps(memory_run(synthesize(), args.batches, args.batch_orders, args.concurrency, retention)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
