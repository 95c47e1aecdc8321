"""The bench's own arithmetic and counting (its figures come from `make bench`, never from a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from harness.bench import capacity, cost, cpu, imports, report, throughput, usage
from harness.bench import memory as bench_memory
from localcloud.deploy import CloudAssembly
from localcloud.retention import Retention


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
    }
    priced = cost.cost_model({"path": used}, prices)["paths"]["path"]
    price = prices["prices_usd"]
    transition = price["stepfunctions_standard_state_transition"]
    assert priced["by_line"]["stepfunctions_transitions"] == round(4 * transition * 1e6, 2)
    assert priced["by_line"]["lambda_requests"] == round(2 * price["lambda_request"] * 1e6, 2)
    assert priced["usd_per_million_orders"] == pytest.approx(sum(priced["by_line"].values()), abs=0.02)
    assert priced["biggest_line"] == "stepfunctions_transitions"


@pytest.fixture(scope="module")
def paths(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    return usage.per_path_usage(assembly)


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
    model = capacity.capacity_model(paths, capacity.load_quotas())
    assert all(carried["max_orders_per_second"] > 0 for carried in model["paths"].values())
    rejected = model["paths"]["rejected"]["orders_per_second"]
    assert rejected["stepfunctions_start_execution"] is None, "a rejected order starts no execution"
    assert rejected["stepfunctions_state_transitions"] is None


def test_the_engine_floor_runs_the_same_machine_with_no_op_tasks(assembly: CloudAssembly) -> None:
    floor = throughput.floor_run(assembly, executions=40)
    assert floor["statuses"] == {"SUCCEEDED": 40}, "a no-op never fails, and never waits past a timeout"
    assert floor["executions_per_second"] > 0
    assert floor["cpu_ms_per_execution"] > 0


def _table(
    memory: dict[str, Any] | None = None, capacity: dict[str, Any] | None = None, **more_throughput: Any
) -> list[str]:
    """The table's lines for a report with no paths: 6 sagas/s and 150 ms each, a floor of 20/s and 45 ms."""
    given: dict[str, Any] = {
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
    lines: list[str] = []
    report.print_table(given, lines.append)
    return lines


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
        "goal_mb_per_thousand_sagas": 50.0,
    }
    [line] = [line for line in _table(memory=memory) if line.startswith("memory")]
    assert line == (
        "memory      200.0 MB per 1,000 sagas without retention · retaining 250: RSS 400 → 405.5 → 409 MB "
        "after each 250, 14.0 MB per 1,000 past the limit (goal < 50)"
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
    assert len(imports.HANDLERS) == 13


def test_a_batch_handler_still_fails_only_the_records_that_raise() -> None:
    from lambdas.handlers.batch import partial_batch_response

    def handle(record: Any) -> None:
        if record.body == "bad":
            raise ValueError("unusable")

    event = {"Records": [_sqs_record("1", "good"), _sqs_record("2", "bad"), _sqs_record("3", "good")]}
    assert partial_batch_response(event, None, "SQS", handle) == {"batchItemFailures": [{"itemIdentifier": "2"}]}  # type: ignore[arg-type]


def _sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "body": body, "receiptHandle": "r", "eventSource": "aws:sqs", "attributes": {}}
