"""Where the CPU goes: a saga's and a floor execution's CPU charged to layers, in a pass of its own.

The layer clock is cpu_layers.py; its wrappers cost a little CPU, so the headline throughput
figures are measured in passes with nothing wrapped, and this pass only divides the CPU.
"""

from __future__ import annotations

from typing import Any

from harness.bench import cpu_layers
from harness.bench.throughput import floor_run, full_run
from localcloud.deploy import CloudAssembly

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
    """A saga's and a floor execution's CPU by layer (cpu_layers.py), in a pass of
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
