"""The bench's own arithmetic and counting (its figures come from `make bench`, never from a test)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from harness.bench import capacity, cost, cpu, http_model, imports, report, throughput, usage
from harness.bench import memory as bench_memory
from harness.inprocess import InProcess, deployed
from harness.orders import order
from harness.pharmacy_api import deployed_over_http
from localcloud.deploy import CloudAssembly
from localcloud.retention import Retention, Sweeper


def test_item_sizes_are_counted_as_dynamodb_counts_them() -> None:
    assert usage.item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert usage.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits -> 3 bytes + 1
    assert usage.item_size({"ok": {"BOOL": True}}) == 2 + 1
    assert usage.item_size({"m": {"M": {"a": {"S": "x"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert usage.item_size({"l": {"L": [{"S": "é"}]}}) == 1 + 3 + (2 + 1)


def test_writes_are_charged_per_started_kilobyte_and_twice_in_a_transaction() -> None:
    meter = usage.Usage()
    meter.dynamodb_request("PutItem", {"Item": {"k": {"S": "x" * 2000}}})  # 2 KB -> 2
    meter.dynamodb_request("UpdateItem", {"Key": {"k": {"S": "x"}}})  # 1
    meter.dynamodb_request("TransactWriteItems", {"TransactItems": [{"Put": {"Item": {"k": {"S": "x"}}}}] * 2})  # 4
    meter.dynamodb_response("GetItem", {"ConsistentRead": True}, {"Item": {"k": {"S": "x" * 5000}}})  # 2
    meter.dynamodb_response("Query", {}, {"Items": [{"k": {"S": "x"}}]})  # 0.5
    assert meter.dynamodb_write_units == 7
    assert meter.dynamodb_read_units == 2.5


def test_a_batch_read_charges_each_key_and_a_missing_one_the_minimum() -> None:
    meter = usage.Usage()
    keys = [{"k": {"S": key}} for key in ("found", "missing", "unprocessed")]
    meter.dynamodb_response(
        "BatchGetItem",
        {"RequestItems": {"t": {"Keys": keys, "ConsistentRead": True}}},
        {"Responses": {"t": [{"k": {"S": "x" * 5000}}]}, "UnprocessedKeys": {"t": {"Keys": keys[2:]}}},
    )
    assert meter.dynamodb_read_units == 2 + 1  # 5 KB found, one key missing; the unprocessed one is asked again


def test_the_cost_model_multiplies_counts_by_the_dated_prices() -> None:
    prices = json.loads(cost.PRICES.read_text())
    used = {
        "lambda_invocations": {"a": 2},
        "lambda_seconds": 0.0,
        "state_transitions": 4,
        "dynamodb_write_units": 0,
        "dynamodb_read_units": 0,
        "eventbridge_events": 1,
        "sqs_requests": 0,
        "log_bytes": 0,
        "secret_reads_per_order": 0.0,
        "secret_reads_per_order_at_most": 0,
    }
    priced = cost.cost_model({"path": used}, prices)["paths"]["path"]
    price = prices["prices_usd"]
    transition = price["stepfunctions_standard_state_transition"]
    assert priced["by_line"]["stepfunctions_transitions"] == round(4 * transition * 1e6, 2)
    assert priced["by_line"]["lambda_requests"] == round(2 * price["lambda_request"] * 1e6, 2)
    assert priced["usd_per_million_orders"] == pytest.approx(sum(priced["by_line"].values()), abs=0.02)
    assert priced["biggest_line"] == "stepfunctions_transitions"


@pytest.fixture(scope="module")
def measured(assembly: CloudAssembly) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Each path's counts, and how many times each function ran in all on that cloud."""
    with deployed(assembly) as cloud:
        found = usage.measure(cloud, repeats=1)  # the median of several is _median's, tested on its own
        runs = {usage._handler_name(f): len(d) for f, d in cloud.local.runtime.durations.items()}
    return found, runs


@pytest.fixture(scope="module")
def paths(measured: tuple[dict[str, dict[str, Any]], dict[str, int]]) -> dict[str, dict[str, Any]]:
    return measured[0]


def test_no_metered_invocation_is_its_functions_first(measured: tuple[dict[str, Any], dict[str, int]]) -> None:
    # A function's first invocation imports its code: a cost a million orders share, not one each.
    found, runs = measured
    for path, used in found.items():
        for function, invocations in used["lambda_invocations"].items():
            assert runs[function] > invocations, f"{path}: {function} ran cold while metered"


def test_a_paths_counts_are_the_median_of_its_orders_key_by_key() -> None:
    runs = [
        {"final_state": "COMPLETED", "log_bytes": 10, "lambda_invocations": {"projector": 1, "publisher": 1}},
        {"final_state": "COMPLETED", "log_bytes": 30, "lambda_invocations": {"projector": 2}},
        {"final_state": "COMPLETED", "log_bytes": 20, "lambda_invocations": {"projector": 1, "publisher": 2}},
    ]
    assert usage._median(runs) == {
        "final_state": "COMPLETED",
        "log_bytes": 20,
        "lambda_invocations": {"projector": 1, "publisher": 1},  # publisher: 1, 0, 2
    }
    with pytest.raises(RuntimeError, match="ended differently"):
        usage._median([runs[0], {**runs[1], "final_state": "FAILED"}])


def test_the_baseline_is_priced_beside_the_counts_measured_now_with_the_same_prices() -> None:
    # Given one dollar per million of everything, each count is its own price per million.
    prices = {"as_published": "x", "region": "r", "prices_usd": dict.fromkeys(_PRICE_NAMES, 1e-6)}
    counts = {
        "final_state": "COMPLETED",
        "state_transitions": 3,
        "lambda_invocations": {},
        "lambda_seconds": 0.0,
        "dynamodb_write_units": 27,
        "dynamodb_read_units": 4,
        "eventbridge_events": 10,
        "sqs_requests": 12,
        "log_bytes": 0,
    }
    baseline = {"commit": "abc1234", "measured_at": "then", "per_saga": {"happy": counts}}
    now_counts = {**counts, "dynamodb_write_units": 13, "sqs_requests": 3}
    now = cost.cost_model(
        {"happy": {**now_counts, "secret_reads_per_order": 0.0, "secret_reads_per_order_at_most": 0}}, prices
    )
    # When priced against the baseline
    against = cost.against_baseline(now, prices, baseline)
    # Then: 3 + 27 + 4 + 10 + 12 then, 3 + 13 + 4 + 10 + 3 now
    happy = against["paths"]["happy"]
    assert happy["baseline_usd_per_million_orders"] == 56
    assert happy["usd_per_million_orders"] == 33
    assert against["completed_meets_goal"] is True
    lines: list[str] = []
    report.print_table({**_given(), "cost_against_baseline": against}, lines.append)
    assert "completed: $33.00 per million (goal ≤ $100, met; baseline $56.00 at abc1234 (then))" in "\n".join(lines)


_PRICE_NAMES = (
    "lambda_request",
    "lambda_arm64_gb_second",
    "stepfunctions_standard_state_transition",
    "dynamodb_on_demand_write_request_unit",
    "dynamodb_on_demand_read_request_unit",
    "eventbridge_custom_event",
    "sqs_standard_request",
    "cloudwatch_logs_ingested_gb",
    "secretsmanager_api_call",
)


def test_the_recorded_baseline_is_dated_and_names_its_commit_and_every_path() -> None:
    recorded = json.loads(cost.BASELINE.read_text())
    assert re.fullmatch(r"[0-9a-f]{7,40}", recorded["commit"])
    assert set(recorded["per_saga"]) == set(usage.PATHS)


def test_each_path_ends_as_its_order_predicts_and_runs_only_its_own_functions(paths: dict[str, Any]) -> None:
    assert {p: u["final_state"] for p, u in paths.items()} == {
        "happy": "COMPLETED",
        "fails_at_prescription": "FAILED",
        "fails_at_inventory": "FAILED",
        "fails_at_shipment": "FAILED",
        "rejected": "REJECTED",
    }
    steps = ("create_prescription", "reserve_inventory", "initiate_shipment")
    undo = ("release_inventory", "cancel_prescription", "cancel_order")
    happy = paths["happy"]["lambda_invocations"]
    assert all(happy[s] == 1 for s in steps)
    assert not set(undo) & set(happy)
    shipment = paths["fails_at_shipment"]["lambda_invocations"]
    assert all(shipment[u] == 1 for u in undo)
    assert shipment["record_execution_outcome"] == 1, "a failed execution reaches the outcome handler"
    rejected = paths["rejected"]
    assert rejected["state_transitions"] == 0
    assert set(rejected["lambda_invocations"]) == {"start_saga", "projector", "publisher"}


def test_a_longer_path_uses_more_of_everything(paths: dict[str, Any]) -> None:
    # Create Prescription, Reserve Inventory, Initiate Shipment; then, failing at the shipment,
    # Release Inventory, Cancel Prescription, Cancel Order, Saga Failed
    assert paths["happy"]["state_transitions"] == 3
    assert paths["fails_at_shipment"]["state_transitions"] == 7
    for measure in ("dynamodb_write_units", "dynamodb_read_units", "eventbridge_events", "sqs_requests", "log_bytes"):
        assert paths["fails_at_shipment"][measure] > paths["happy"][measure] > paths["rejected"][measure] > 0, measure
    # A new order's first events are written without reading its stream first: a rejection's one
    # read is the projector finding no row yet.
    assert paths["rejected"]["dynamodb_read_units"] == 1


def test_every_measured_path_is_bound_by_a_quota_and_a_rejection_never_by_step_functions(paths: dict[str, Any]) -> None:
    model = capacity.capacity_model(http_model.modelled_paths(paths), capacity.load_quotas())
    assert all(carried["max_orders_per_second"] > 0 for carried in model["paths"].values())
    rejected = model["paths"]["rejected"]["orders_per_second"]
    assert rejected["stepfunctions_start_execution"] is None, "a rejected order starts no execution"
    assert rejected["stepfunctions_state_transitions"] is None


@pytest.fixture(scope="module")
def over_http() -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, str]]]:
    """Each path measured with every step over HTTP, and what the reference pharmacy itself received."""
    with deployed_over_http() as (cloud, served):
        return usage.measure(cloud, repeats=1), served.pharmacy.arrivals()


def _arrived_for(arrivals: list[tuple[str, str, str]], path: str) -> list[str]:
    """The operations the pharmacy received for one path's order (its resource ids end with the order id)."""
    order_id = usage.order_id(path, 0)  # measured once: repeats=1
    return [operation for operation, resource_id, _key in arrivals if resource_id.endswith(f"-{order_id}")]


BUSINESS_TABLES = ("BusinessTablesPrescriptions", "BusinessTablesReservations", "BusinessTablesShipments")
"""What the three steps write with the built-in tables (infra/tables.py: the BusinessTables construct)."""


def test_with_the_tables_the_steps_write_the_business_tables_and_over_http_none(
    paths: dict[str, Any], over_http: tuple[dict[str, Any], Any]
) -> None:
    http, _arrivals = over_http
    assert {p: u["final_state"] for p, u in http.items()} == {p: u["final_state"] for p, u in paths.items()}
    written = paths["happy"]["dynamodb_write_units_by_table"]
    assert all(written.get(table, 0) > 0 for table in BUSINESS_TABLES), written
    assert sum(written.values()) == paths["happy"]["dynamodb_write_units"]
    for path, used in http.items():
        tables = used["dynamodb_write_units_by_table"]
        assert not [t for t in tables if t.startswith("BusinessTables")], (path, tables)


def test_over_http_the_requests_counted_are_the_ones_the_pharmacy_received(
    over_http: tuple[dict[str, Any], list[tuple[str, str, str]]],
) -> None:
    http, arrivals = over_http
    for path, used in http.items():
        assert sum(used["pharmacy_requests"].values()) == len(_arrived_for(arrivals, path)), path
    # docs/pharmacy-api.yaml's operations: the three steps, once each, on a completed order
    assert sorted(_arrived_for(arrivals, "happy")) == ["createPrescription", "createShipment", "reserveInventory"]
    assert http["happy"]["pharmacy_requests"] == {
        "create_prescription": 1,
        "reserve_inventory": 1,
        "initiate_shipment": 1,
    }
    assert http["rejected"]["pharmacy_requests"] == {}
    assert all(http["happy"]["pharmacy_wait_seconds"][f] > 0 for f in http["happy"]["pharmacy_requests"])


def test_over_http_an_environment_reads_the_secret_once_however_many_requests_it_sends(
    paths: dict[str, Any], over_http: tuple[dict[str, Any], Any]
) -> None:
    # Each path starts on a fresh cloud, whose every function gets an execution environment of its
    # own, as on Lambda, and settles well inside the token's 5-minute cache
    # (lambdas/adapters/pharmacy_token.py): one read per function that calls the pharmacy, on its first request.
    http, _arrivals = over_http
    for path, used in http.items():
        callers = [function for function, requests in used["pharmacy_requests"].items() if requests]
        assert used["secret_reads"] == len(callers), (path, used["secret_reads"], callers)
    assert sum(http["fails_at_shipment"]["pharmacy_requests"].values()) > 1
    assert all(used["secret_reads"] == 0 for used in paths.values()), "the built-in tables need no secret"


def test_over_http_the_modelled_figures_come_from_the_measured_counts(
    paths: dict[str, Any], over_http: tuple[dict[str, Any], Any]
) -> None:
    http, _arrivals = over_http
    happy, modelled = http["happy"], http_model.modelled(http["happy"], latency=0.2, orders_per_second=10.0)
    waited = sum(happy["pharmacy_wait_seconds"].values())
    # three requests of 200 ms each in place of what the reference pharmacy took
    assert modelled["lambda_seconds"] == pytest.approx(happy["lambda_seconds"] - waited + 3 * 0.2, abs=1e-3)
    assert modelled["secret_reads_per_order_at_most"] == 3, "one read per invocation of a function that calls it"
    assert 0 < modelled["secret_reads_per_order"] < 3
    tables = http_model.modelled(paths["happy"])
    assert tables["lambda_seconds"] == paths["happy"]["lambda_seconds"], "no pharmacy: nothing modelled"
    assert (tables["secret_reads_per_order"], tables["secret_reads_per_order_at_most"]) == (0.0, 0)


def test_the_engine_floor_runs_the_same_machine_with_no_op_tasks(assembly: CloudAssembly) -> None:
    floor = throughput.floor_run(assembly, executions=40)
    assert floor["statuses"] == {"SUCCEEDED": 40}, "a no-op never fails, and never waits past a timeout"
    assert floor["executions_per_second"] > 0
    assert floor["cpu_ms_per_execution"] > 0


def _table(
    memory: dict[str, Any] | None = None, capacity: dict[str, Any] | None = None, **more_throughput: Any
) -> list[str]:
    """The table's lines for a report with no paths: 6 sagas/s and 150 ms each, a floor of 20/s and 45 ms."""
    lines: list[str] = []
    report.print_table(_given(memory, capacity, **more_throughput), lines.append)
    return lines


def _given(
    memory: dict[str, Any] | None = None, capacity: dict[str, Any] | None = None, **more_throughput: Any
) -> dict[str, Any]:
    return {
        "throughput": {
            "saga": {"sagas_per_second": 6.0, "latency_seconds": {"p50": 1.0, "p99": 2.0}, "cpu_ms_per_saga": 150.0},
            "engine_floor": {"executions_per_second": 20.0, "cpu_ms_per_execution": 45.0},
            "ratio_to_floor": 0.3,
            "goal_ratio": 0.5,
            "cpu_ratio_to_floor": 0.3,
            **more_throughput,
        },
        "per_saga": {},
        "cost": {"paths": {}},
        "imports": {"boto3_seconds": 0.2, "worst_ratio_to_boto3": 1.2, "budget_ratio": 1.5},
        "asset": {"megabytes": 17.8},
        **({"memory": memory} if memory else {}),
        **({"capacity": capacity} if capacity else {}),
    }


def _report_without_paths() -> dict[str, Any]:
    """A report's throughput, imports and asset as `_table` gives them."""
    return {key: value for key, value in _given().items() if key not in ("per_saga", "cost")}


def test_the_table_shows_throughput_and_cpu_side_by_side() -> None:
    lines = _table()
    assert lines[0].startswith("throughput  saga 6.0/s")
    assert "ratio 0.3 (goal ≥ 0.5)" in lines[0]
    assert lines[1] == "cpu         150.0 ms per saga · 45.0 ms per floor execution · ratio 0.3"


def test_the_cpu_breakdown_charges_the_saga_its_dynamodb_and_the_floor_none(assembly: CloudAssembly) -> None:
    breakdown = cpu.cpu_breakdown(assembly, orders=20, concurrency=4)
    saga, floor = breakdown["saga_ms"], breakdown["floor_ms"]
    assert breakdown["as_predicted"]
    assert saga["requests"]["dynamodb"] > 0
    assert saga["emulation"]["dynamodb"] > 0
    assert "dynamodb" not in floor["requests"], "a no-op task reads nothing"
    assert saga["handler_code"] > floor["handler_code"]
    assert set(breakdown["cpu_ratio_if_free"]) == set(cpu.FREE_SERVICES)
    assert breakdown["cpu_ratio_if_free"]["dynamodb"] > breakdown["cpu_ratio"], "a free service only helps the saga"


def test_the_table_shows_where_the_cpu_goes_and_the_ratio_were_services_free() -> None:
    layers = {"handler_code": 12.0, "requests": {"dynamodb": 30.0}, "emulation": {"dynamodb": 20.0}, "gc": 15.0}
    lines = _table(
        cpu_breakdown={
            "orders": 300,
            "saga_ms": {"total": 130.0, **layers, "engine_and_other": 33.0},
            "floor_ms": {
                "total": 32.0,
                "handler_code": 1.0,
                "requests": {},
                "emulation": {},
                "gc": 5.0,
                "engine_and_other": 26.0,
            },
            "cpu_ratio_if_free": {"dynamodb": 0.4},
        }
    )
    assert lines[2] == (
        "cpu layers  saga 130.0 ms: handlers 12.0 · requests 30.0 (dynamodb 30.0) · "
        "emulation 20.0 (dynamodb 20.0) · gc 15.0 · engine and other 33.0"
    )
    assert lines[3].startswith("            floor 32.0 ms: handlers 1.0 · requests 0.0 · emulation 0.0 ·")
    assert lines[4] == "if free     cpu ratio were these free of charge: dynamodb 0.4 (300 orders)"


def test_the_table_shows_memory_per_thousand_sagas_with_and_without_retention() -> None:
    memory = {
        "batch_orders": 250,
        "mb_per_thousand_sagas_without_retention": 200.0,
        "with_retention": {"retention": {"sagas": 250}, "rss_mb_after_each_batch": [400.0, 405.5, 409.0]},
        "mb_per_thousand_sagas_after_limit": 14.0,
        "mb_per_thousand_sagas_after_limit_baseline": 20.0,
        "goal_mb_per_thousand_sagas": 50.0,
    }
    [line] = [line for line in _table(memory=memory) if line.startswith("memory")]
    assert line == (
        "memory      200.0 MB per 1,000 sagas without retention · retaining 250: RSS 400 → 405.5 → 409 MB "
        "after each 250, 14.0 MB per 1,000 past the limit (goal ≤ 50; baseline 20.0 with retention as it was)"
    )


def test_the_table_shows_each_paths_orders_per_second_the_quota_that_binds_and_what_to_raise() -> None:
    binding = "stepfunctions_state_transitions"
    to_raise = {"quota": "Step Functions state transitions (Standard), token bucket", "adjustable": True}
    capacity = {
        "region": "us-east-1",
        "quotas_looked_up": "2026-12-02",
        "paths": {
            "happy": {"max_orders_per_second": 500.0, "binding_quota": binding, "raise": to_raise},
            "rejected": {"max_orders_per_second": None, "binding_quota": None, "raise": None},
        },
    }
    lines = _table(capacity=capacity)
    start = lines.index("capacity    orders/s one region carries, default quotas of us-east-1 looked up 2026-12-02")
    assert lines[start + 1].split() == ["path", "orders/s", "binding", "quota", "raise"]
    assert lines[start + 2].split()[:3] == ["happy", "500", "stepfunctions_state_transitions"]
    assert lines[start + 2].endswith("Step Functions state transitions (Standard), token bucket (adjustable)")
    assert lines[start + 3].split() == ["rejected", "-", "-", "-"]


def _configuration(usd: float, rate: float, pharmacy_requests: dict[str, int], secrets: tuple[float, float]) -> Any:
    """One configuration's report for the happy path alone: 3 transitions, 6 invocations, 27 WRU."""
    used = {
        "state_transitions": 3,
        "lambda_invocations": dict.fromkeys(("a", "b", "c", "d", "e", "f"), 1),
        "dynamodb_write_units": 27.0,
        "dynamodb_read_units": 4.5,
        "eventbridge_events": 10,
        "sqs_requests": 12,
        "pharmacy_requests": pharmacy_requests,
    }
    by_line = {"stepfunctions_transitions": 75.0, "secretsmanager_api_calls": secrets[0]}
    return {
        "per_saga": {"happy": used},
        "cost": {
            "paths": {
                "happy": {
                    "usd_per_million_orders": usd,
                    "by_line": by_line,
                    "biggest_line": "stepfunctions_transitions",
                    "secretsmanager_api_calls_at_most": secrets[1],
                }
            }
        },
        "capacity": {
            "region": "us-east-1",
            "quotas_looked_up": "2026-12-02",
            "not_ours": "the pharmacy's own rate limit",
            "paths": {
                "happy": {
                    "max_orders_per_second": rate,
                    "binding_quota": "stepfunctions_state_transitions",
                    "raise": None,
                    "pharmacy_requests_per_order": sum(pharmacy_requests.values()),
                }
            },
        },
    }


def test_the_table_shows_the_http_steps_cost_and_capacity_beside_the_built_in_tables() -> None:
    tables = _configuration(112.0, 500.0, {}, (0.0, 0.0))
    http = _configuration(104.5, 500.0, {"create_prescription": 1, "reserve_inventory": 1}, (0.01, 15.0))
    model = {"pharmacy_latency_seconds": 0.2, "orders_per_second": 10.0, "token_ttl_seconds": 300}
    given = {**_report_without_paths(), **tables, "http_steps": {"model": model, **http}}
    lines: list[str] = []
    report.print_table(given, lines.append)
    start = next(i for i, line in enumerate(lines) if line.startswith("http steps"))
    assert "200 ms per pharmacy request" in lines[start]
    assert "once per 300 s per execution environment at 10 orders/s" in lines[start]
    assert lines[start + 1].split()[0] == "path"
    assert lines[start + 2].split()[0] == "happy"
    assert lines[start + 3].split()[:3] == ["side", "by", "side"]
    assert lines[start + 4].split() == [
        "happy", "112.00", "104.50", "0.01-15", "500", "500", "2", "stepfunctions_state_transitions"
    ]  # fmt: skip
    assert lines[start + 5] == "not ours    the pharmacy's own rate limit"


def test_memory_growth_is_the_median_of_the_steps_between_batches_per_thousand_sagas() -> None:
    # Steps of 10, 20 and 5 MB over batches of 250 sagas: 40, 80 and 20 MB per 1,000; the median 40.
    assert bench_memory.median_growth([100.0, 110.0, 130.0, 135.0], batch_orders=250) == 40.0
    assert bench_memory.median_growth([100.0], batch_orders=250) is None


def test_the_memory_pass_says_the_goal_beside_its_baseline() -> None:
    found = {
        "mb_per_thousand_sagas_after_limit": 41.2,
        "mb_per_thousand_sagas_after_limit_baseline": 68.0,
        "goal_mb_per_thousand_sagas": 50.0,
    }
    assert bench_memory.summary(found) == (
        "MB per 1,000 sagas past retention: 41.2 (goal ≤ 50; baseline 68.0 with retention as it was)"
    )


def test_the_memory_baseline_is_retention_as_it_was(assembly: CloudAssembly) -> None:
    # As it was: read stream records kept until the horizon, forgotten names copied into new executions.
    with deployed(assembly) as target:
        _one_saga(target, "b-1")
        keep_an_hour = Retention(sagas=1000, minutes=60)
        assert bench_memory.RetentionAsItWas(target.local, keep_an_hour).sweep().stream_records == 0
        assert Sweeper(target.local, keep_an_hour).sweep().stream_records > 0
        bench_memory.RetentionAsItWas(target.local, Retention(sagas=0, minutes=0)).sweep()
        _one_saga(target, "b-2")
        backend = stepfunctions_parser_backends[target.local.account][target.local.region]
        [started] = [e for e in backend._get_executions() if e.name == "b-2"]
        assert "b-1" in vars(started.state_machine)["forgotten_execution_names"]


def _one_saga(target: InProcess, order_id: str) -> None:
    target.put_order(order(order_id, "med-1"))
    target.wait_for_sagas([order_id])
    target.local.wait_until_idle()


def test_a_memory_run_sweeps_after_each_batch_and_sizes_every_store(assembly: CloudAssembly) -> None:
    run = bench_memory.memory_run(assembly, batches=2, batch_orders=3, concurrency=2, retention=Retention(sagas=3))
    assert run["as_predicted"]
    assert len(run["rss_mb_after_each_batch"]) == 2
    assert run["mb_per_thousand_sagas_after_the_first_batch"] is not None
    assert run["forgotten"]["executions"] > 0, "the first batch's sagas are past the limit after the second"
    assert run["store_mb"]["dynamodb_items (kept)"] > 0
    assert set(run["store_mb"]) >= {"stepfunctions_executions", "dynamodb_stream_records", "logs_streams_and_events"}


DEFERRED_TO_FIRST_USE = (
    "boto3",  # a client is made on first use (lambdas/adapters/aws_services.py)
    "aws_xray_sdk",  # the Tracer is made on the first invocation (lambdas/observability.py)
    "aws_lambda_powertools.utilities.batch",  # imported on the first batch (lambdas/handlers/batch.py)
    "asyncio",  # what the Batch utility brings with it
)


def test_importing_a_handler_defers_what_the_cold_start_budget_leaves_out() -> None:
    # The import budget (at most 1.5 times `import boto3`, measured by `make bench`) holds only while
    # these stay out of a handler module's import; each is loaded where it is first needed.
    code = (
        "import importlib, json, sys\n"
        f"for module in {imports.HANDLERS!r}:\n"
        "    importlib.import_module(module)\n"
        f"print(json.dumps(sorted(m for m in {DEFERRED_TO_FIRST_USE!r} if m in sys.modules)))\n"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    assert loaded == []
    # and it checked every module that defines a Lambda handler, read from the handlers' own source
    handlers = Path(__file__).resolve().parents[2] / "lambdas" / "handlers"
    defined = sorted(
        f"lambdas.handlers.{path.stem}"
        for path in handlers.glob("*.py")
        if re.search(r"^(def handler\(|handler = )", path.read_text(), re.MULTILINE)
    )
    assert sorted(imports.HANDLERS) == defined


def test_a_batch_handler_still_fails_only_the_records_that_raise() -> None:
    from lambdas.handlers.batch import partial_batch_response

    def handle(record: Any) -> None:
        if record.body == "bad":
            raise ValueError("unusable")

    event = {"Records": [_sqs_record("1", "good"), _sqs_record("2", "bad"), _sqs_record("3", "good")]}
    assert partial_batch_response(event, None, "SQS", handle) == {"batchItemFailures": [{"itemIdentifier": "2"}]}  # type: ignore[arg-type]  # no LambdaContext: none of it is read


def _sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "body": body, "receiptHandle": "r", "eventSource": "aws:sqs", "attributes": {}}
