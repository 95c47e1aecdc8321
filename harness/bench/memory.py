"""`make bench`'s memory pass: resident memory per 1,000 sagas, without retention and with it.

Each run is a fresh interpreter (memory one run frees would otherwise flatter the next): it sends
batches of the default mix to a new local cloud and reads the process's resident set after each
batch has settled (with retention, after a sweep). Without retention the growth per 1,000 sagas is
what `saga local up` grew by before it had one; with retention the batches after the limit show
what still grows. Side by side in one pass, the goal and its baseline: retention as it is and
retention as it was before 2026-12-07 (`--as-it-was`: stream records kept until the horizon,
forgotten execution names copied into every new execution). It ends by sizing each store the sagas
filled. Figures, never assertions: RSS depends on the allocator and on what else the process has
done; a median over the batches past the limit is less moved by one batch's noise.

    python -m harness.bench.memory [--batches 6] [--batch-orders 250]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
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

from harness.assembly import READ_PUBLISHED_EVENTS, synthesize
from harness.inprocess import deployed
from localcloud.cloud import LocalCloud
from localcloud.deploy import CloudAssembly
from localcloud.patches.stepfunctions import forgotten_names
from localcloud.retention import Retention, Sweeper, first_after

GOAL_MB_PER_THOUSAND = 50.0
"""Issue 27: at most 50 MB of resident memory per 1,000 sagas past the retention limit."""
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


class RetentionAsItWas(Sweeper):
    """The baseline, measured beside the goal: retention as it was before 2026-12-07 (at bfb23ef).

    A stream record every mapping has read was forgotten only once older than the horizon too;
    and the names of forgotten executions were kept on the state machine itself, which moto
    deep-copies into every execution it starts."""

    def _first_kept(self, shard: Any, unread: dict[int, int], horizon: float) -> int:
        read = unread.get(id(shard), int(shard.starting_sequence_number) + len(shard.items))
        return min(read, first_after(shard, horizon))

    def _forget_executions(self, horizon: float) -> int:
        forgotten = super()._forget_executions(horizon)
        for machine in stepfunctions_parser_backends[self.cloud.account][self.cloud.region].state_machines:
            # The attribute retention kept on moto's machine, which moto copied into each execution.
            machine.forgotten_execution_names = forgotten_names(machine)  # type: ignore[attr-defined]  # not moto's
        return forgotten


def memory_run(
    assembly: CloudAssembly,
    batches: int,
    batch_orders: int,
    concurrency: int,
    retention: Retention | None,
    sweeper_type: type[Sweeper] = Sweeper,
) -> dict[str, Any]:
    """`batches` batches of `batch_orders` orders on one cloud; RSS after each, swept first with retention."""
    from harness import load

    rss: list[float] = []
    as_predicted = True
    with deployed(assembly) as target:
        cloud = target.local
        load.prepare_stock(target, batches * batch_orders)
        sweeper = sweeper_type(cloud, retention) if retention else None
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
        "retention_as_it_was": sweeper_type is RetentionAsItWas,
        "as_predicted": as_predicted,
        "rss_mb_before": round(before, 1),
        "rss_mb_after_each_batch": rss,
        "mb_per_thousand_sagas": round((rss[-1] - before) / (batches * batch_orders / 1000), 1),
        # From the first batch on: the process's one-time costs (imports, caches, pools) are behind it.
        "mb_per_thousand_sagas_after_the_first_batch": median_growth(rss, batch_orders),
        "store_mb": stores,
        "forgotten": forgotten,
    }


def median_growth(rss: list[float], batch_orders: int) -> float | None:
    """The median of what RSS grew by from one batch to the next, in MB per 1,000 sagas."""
    steps = [(after - before) * 1000 / batch_orders for before, after in itertools.pairwise(rss)]
    return round(statistics.median(steps), 1) if steps else None


def _in_a_fresh_interpreter(
    batches: int, batch_orders: int, concurrency: int, retain: int | None, as_it_was: bool = False
) -> dict[str, Any]:
    command = [sys.executable, "-m", "harness.bench.memory", "--one-run", "--batches", str(batches)]
    command += ["--batch-orders", str(batch_orders), "--concurrency", str(concurrency)]
    command += ["--retain-sagas", str(retain)] if retain is not None else []
    command += ["--as-it-was"] if as_it_was else []
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])  # the report is the last line
    return found


def memory(batches: int, batch_orders: int, concurrency: int) -> dict[str, Any]:
    """Side by side: no retention; a retention of one batch's sagas as it was (the baseline); as it is.

    The limit is reached after the first batch, but the second batch's sagas live beside the
    first's until the sweep at its end: RSS has its high-water mark (two batches' traces) from the
    second batch on, so the growth past the limit is measured from there: the median of the steps."""
    without = _in_a_fresh_interpreter(batches, batch_orders, concurrency, None)
    baseline = _in_a_fresh_interpreter(batches, batch_orders, concurrency, batch_orders, as_it_was=True)
    retained = _in_a_fresh_interpreter(batches, batch_orders, concurrency, batch_orders)
    return {
        "batch_orders": batch_orders,
        "without_retention": without,
        "with_retention_as_it_was": baseline,
        "with_retention": retained,
        "mb_per_thousand_sagas_without_retention": without["mb_per_thousand_sagas_after_the_first_batch"],
        "mb_per_thousand_sagas_after_limit_baseline": median_growth(
            baseline["rss_mb_after_each_batch"][1:], batch_orders
        ),
        "mb_per_thousand_sagas_after_limit": median_growth(retained["rss_mb_after_each_batch"][1:], batch_orders),
        "goal_mb_per_thousand_sagas": GOAL_MB_PER_THOUSAND,
    }


def summary(found: dict[str, Any]) -> str:
    """The goal beside its baseline, measured in the same pass."""
    return (
        f"MB per 1,000 sagas past retention: {found['mb_per_thousand_sagas_after_limit']} "
        f"(goal ≤ {found['goal_mb_per_thousand_sagas']:g}; baseline "
        f"{found['mb_per_thousand_sagas_after_limit_baseline']} with retention as it was)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-orders", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--one-run", action="store_true", help="one run in this interpreter, its JSON on stdout")
    parser.add_argument("--retain-sagas", type=int, help="one run: sweep after each batch, keeping this many sagas")
    parser.add_argument("--as-it-was", action="store_true", help="one run: the baseline's retention")
    args = parser.parse_args(argv)
    if not args.one_run:
        found = memory(args.batches, args.batch_orders, args.concurrency)
        print(summary(found))
        print(json.dumps(found))
        return 0
    retention = None if args.retain_sagas is None else Retention(sagas=args.retain_sagas, minutes=RETAINED_MINUTES)
    sweeper = RetentionAsItWas if args.as_it_was else Sweeper
    # What `saga local up` deploys: the domain events queue included (saga_cli/local_context.py).
    assembly = synthesize(context=READ_PUBLISHED_EVENTS)
    print(json.dumps(memory_run(assembly, args.batches, args.batch_orders, args.concurrency, retention, sweeper)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
