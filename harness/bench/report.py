"""The bench report's short table: throughput, CPU, each path's counts, cost and capacity, memory, imports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
    capacity = report.get("capacity")
    if capacity:
        _capacity(capacity, out)
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


def _capacity(capacity: dict[str, Any], out: Callable[[str], None]) -> None:
    out(
        f"capacity    orders/s one region carries, default quotas of {capacity['region']} "
        f"looked up {capacity['quotas_looked_up']}"
    )
    out("{:24} {:>9}  {:32} raise".format("path", "orders/s", "binding quota"))
    for path, carried in capacity["paths"].items():
        rate, binding, to_raise = carried["max_orders_per_second"], carried["binding_quota"], carried["raise"]
        adjustable = "adjustable" if to_raise and to_raise["adjustable"] else "not adjustable"
        what = f"{to_raise['quota']} ({adjustable})" if to_raise else "-"
        out(f"{path:24} {'-' if rate is None else f'{rate:g}':>9}  {binding or '-':32} {what}")


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
