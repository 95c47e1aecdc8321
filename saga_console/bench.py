"""`make bench` (the console's part): the server time of the list page and of a saga's page with many sagas stored.

The projection is filled with `--sagas` rows directly (states in a realistic mix, updated
over the last hour), and a few real sagas run through the local cloud so a saga's page has
its events, its execution and its graph. Each page is then requested through the Flask
app in-process, so the time is the server's (the queries and the rendering), not a
browser's. The goal: under 200 ms each. The counts per state the list shows are counted
at most every few seconds (`COUNTS_SECONDS`), so they are timed apart, as one count.

    python -m saga_console.bench [--sagas 10000] [--requests 20] [--json console-bench.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.assembly import synthesize
from harness.inprocess import deployed
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState
from saga_console import reads
from saga_console.app import COUNTS_SECONDS, create_app

GOAL_MS = 200.0
MIX = [
    (SagaState.COMPLETED, 80),
    (SagaState.FAILED, 10),
    (SagaState.REJECTED, 5),
    (SagaState.COMPENSATION_FAILED, 3),
    (SagaState.PENDING_INVENTORY, 2),
]


def stored_view(i: int, now: datetime) -> SagaView:
    weights = [w for _, w in MIX]
    slot = i % sum(weights)
    state = next(s for (s, _), edge in zip(MIX, _edges(weights), strict=True) if slot < edge)
    started = now - timedelta(seconds=3600 * (i / 10_000) + 2)
    return SagaView(
        order_id=f"bench-{i:06d}",
        state=state,
        version=9,
        started_at=started,
        updated_at=started + timedelta(seconds=1.5),
        ended_at=started + timedelta(seconds=1.5),
        duration_seconds=1.5,
        steps_completed=("create_prescription", "reserve_inventory", "initiate_shipment"),
    )


def _edges(weights: list[int]) -> list[int]:
    total, edges = 0, []
    for w in weights:
        total += w
        edges.append(total)
    return edges


def server_ms(client: Any, url: str, requests: int) -> dict[str, float]:
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sagas", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", dest="report")
    args = parser.parse_args(argv)
    assembly = synthesize()
    with deployed(assembly) as cloud:
        began = time.perf_counter()
        projection, now = cloud.projection(), datetime.now(UTC)
        for i in range(args.sagas):
            projection.replace(stored_view(i, now))
        filled = time.perf_counter() - began
        real = {"bench-real-ok": ["med-1"], "bench-real-no-stock": ["med-scarce"]}
        for order_id, medications in real.items():
            cloud.put_order({"order_id": order_id, "patient_id": "p-bench", "medications": medications})
        cloud.wait_for_sagas(list(real))
        target = cloud
        began = time.perf_counter()
        reads.counts(target)
        counting = (time.perf_counter() - began) * 1000
        client = create_app(target, counts_seconds=3600).test_client()
        client.get("/console/sagas")  # counted once, then as the list shows them between counts
        pages = {
            "list": server_ms(client, "/console/sagas", args.requests),
            "list_failed": server_ms(client, "/console/sagas?state=failed", args.requests),
            "saga": server_ms(client, "/console/sagas/bench-real-no-stock", args.requests),
        }
    report = {
        "sagas_stored": args.sagas + len(real),
        "fill_seconds": round(filled, 1),
        "pages": pages,
        "counts_per_state_ms": round(counting, 1),
        "goal_ms": GOAL_MS,
        "within_goal": all(p["median_ms"] < GOAL_MS for p in pages.values()),
    }
    if args.report:
        with open(args.report, "w") as file:
            json.dump(report, file, indent=2)
    print(json.dumps(report, indent=2))
    for name, figures in pages.items():
        print(f"{name:>12}: {figures['median_ms']:7.1f} ms median, {figures['max_ms']:7.1f} ms max (server time)")
    print(f"counting the sagas per state (every {COUNTS_SECONDS:.0f} s at most): {counting:.0f} ms")
    return 0 if report["within_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
