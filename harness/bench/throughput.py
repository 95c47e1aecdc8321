"""Throughput: the saga end to end under the default mix, beside the engine floor on the same machine.

The floor is the same state machine on the same local cloud with every task a no-op, started
directly and paced: what the emulated engine alone can do, the ceiling the saga is measured against.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from harness.inprocess import InProcess, deployed
from harness.waiting import poll
from infra import names
from localcloud.deploy import CloudAssembly

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


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


def _start_paced(cloud: InProcess, sfn: SFNClient, arn: str, executions: int) -> None:
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
