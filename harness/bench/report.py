"""The bench report's short table: throughput, CPU, each path's counts, cost and capacity (built-in tables
and HTTP steps side by side), memory, imports."""

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
    _paths(report, out)
    against = report.get("cost_against_baseline")
    if against:
        _against_baseline(against, out)
    capacity = report.get("capacity")
    if capacity:
        _capacity(capacity, out)
    http = report.get("http_steps")
    if http:
        _http_steps(report, http, out)
    memory = report.get("memory")
    if memory:
        retained = memory["with_retention"]
        rss = " → ".join(f"{mb:g}" for mb in retained["rss_mb_after_each_batch"])
        out(
            f"memory      {memory['mb_per_thousand_sagas_without_retention']} MB per 1,000 sagas without retention "
            f"· retaining {retained['retention']['sagas']}: RSS {rss} MB after each {memory['batch_orders']}, "
            f"{memory['mb_per_thousand_sagas_after_limit']} MB per 1,000 past the limit "
            f"(goal ≤ {memory['goal_mb_per_thousand_sagas']:g}; baseline "
            f"{memory['mb_per_thousand_sagas_after_limit_baseline']} with retention as it was)"
        )
    imports = report["imports"]
    out(
        f"imports     boto3 {imports['boto3_seconds']} s · slowest handler ratio {imports['worst_ratio_to_boto3']} "
        f"(budget ≤ {imports['budget_ratio']}) · asset {report['asset']['megabytes']} MB"
    )


def _paths(configuration: dict[str, Any], out: Callable[[str], None]) -> None:
    header = ("path", "transitions", "lambdas", "WRU", "RRU", "events", "sqs", "$/M")
    out("{:24} {:>11} {:>7} {:>6} {:>6} {:>6} {:>4} {:>8}  biggest".format(*header))
    for path, used in configuration["per_saga"].items():
        cost = configuration["cost"]["paths"][path]
        out(
            f"{path:24} {used['state_transitions']:>11} {sum(used['lambda_invocations'].values()):>7} "
            f"{used['dynamodb_write_units']:>6g} {used['dynamodb_read_units']:>6g} {used['eventbridge_events']:>6} "
            f"{used['sqs_requests']:>4} {cost['usd_per_million_orders']:>8.2f}  {cost['biggest_line']}"
        )


def _http_steps(tables: dict[str, Any], http: dict[str, Any], out: Callable[[str], None]) -> None:
    """The HTTP configuration's own rows, then each path's cost and capacity beside the built-in tables'."""
    model = http["model"]
    latency_ms = model["pharmacy_latency_seconds"] * 1000
    out(
        f"http steps  every step calls the reference pharmacy; modelled at {latency_ms:g} ms "
        f"per pharmacy request, the secret read once per {model['token_ttl_seconds']:g} s per execution environment "
        f"at {model['orders_per_second']:g} orders/s"
    )
    _paths(http, out)
    header = ("side by side", "$/M tables", "$/M http", "secrets $/M", "orders/s tables", "orders/s http", "pharmacy")
    out("{:24} {:>10} {:>8} {:>11} {:>15} {:>13} {:>8}  binding over http".format(*header))
    for path in http["per_saga"]:
        cost, carried = http["cost"]["paths"][path], http["capacity"]["paths"][path]
        secrets = f"{cost['by_line']['secretsmanager_api_calls']:g}-{cost['secretsmanager_api_calls_at_most']:g}"
        out(
            f"{path:24} {_usd(tables, path):>10} {cost['usd_per_million_orders']:>8.2f} {secrets:>11} "
            f"{_rate(tables, path):>15} {_rate(http, path):>13} {carried['pharmacy_requests_per_order']:>8}  "
            f"{carried['binding_quota'] or '-'}"
        )
    out(f"not ours    {http['capacity']['not_ours']}")


def _usd(configuration: dict[str, Any], path: str) -> str:
    cost = configuration["cost"]["paths"].get(path)
    return "-" if cost is None else f"{cost['usd_per_million_orders']:.2f}"


def _rate(configuration: dict[str, Any], path: str) -> str:
    carried = configuration.get("capacity", {}).get("paths", {}).get(path)
    rate = None if carried is None else carried["max_orders_per_second"]
    return "-" if rate is None else f"{rate:g}"


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


PATH_NAMES = {
    "happy": "completed",
    "fails_at_prescription": "failed at the prescription",
    "fails_at_inventory": "failed at the inventory",
    "fails_at_shipment": "failed at the shipment",
    "rejected": "rejected",
}


def _against_baseline(against: dict[str, Any], out: Callable[[str], None]) -> None:
    """The goal and the baseline in the same run: the baseline's recorded counts at today's prices."""
    at = f"{against['baseline_commit']} ({against['baseline_measured_at']})"
    completed = against["paths"]["happy"]
    met = "met" if against["completed_meets_goal"] else "NOT met"
    out(
        f"cost        completed: ${completed['usd_per_million_orders']:.2f} per million "
        f"(goal ≤ ${against['goal_completed_usd_per_million']:g}, {met}; "
        f"baseline ${completed['baseline_usd_per_million_orders']:.2f} at {at})"
    )
    for path, cost in against["paths"].items():
        if path == "happy":
            continue
        before = cost["baseline_usd_per_million_orders"]
        was = "-" if before is None else f"${before:.2f}"
        now = cost["usd_per_million_orders"]
        out(f"            {PATH_NAMES.get(path, path)}: ${now:.2f} per million (baseline {was})")
