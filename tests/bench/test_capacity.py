"""The capacity model's arithmetic: expected values worked by hand from the quota table defined here."""

from __future__ import annotations

from typing import Any

from harness.bench import capacity

QUOTAS: dict[str, dict[str, Any]] = {
    "stepfunctions_start_execution": {"name": "StartExecution", "refill_per_second": 300, "adjustable": True},
    "stepfunctions_state_transitions": {"name": "State transitions", "refill_per_second": 5000, "adjustable": True},
    "lambda_concurrent_executions": {"name": "Lambda concurrency", "concurrent_executions": 1000, "adjustable": True},
    "eventbridge_put_events": {"name": "PutEvents", "requests_per_second": 10000, "adjustable": True},
    "dynamodb_table_write_units": {"name": "Table writes", "units_per_second": 40000, "adjustable": True},
    "dynamodb_table_read_units": {"name": "Table reads", "units_per_second": 40000, "adjustable": False},
}
TABLE = {"region": "us-east-1", "looked_up": "2026-12-02", "quotas": QUOTAS}


def _used(**counts: Any) -> dict[str, Any]:
    """A path's counts per saga: by default 10 transitions, 2 s of Lambda, 8 events, 50 WRU, 20 RRU."""
    return {
        "state_transitions": 10,
        "lambda_seconds": 2.0,
        "eventbridge_events": 8,
        "dynamodb_write_units": 50.0,
        "dynamodb_read_units": 20.0,
        **counts,
    }


def test_each_quota_carries_its_figure_over_what_one_order_draws() -> None:
    assert capacity.orders_per_second(_used(), QUOTAS) == {
        "stepfunctions_start_execution": 300.0,  # 300 started/s, one execution per order
        "stepfunctions_state_transitions": 500.0,  # 5,000/s over 10 transitions
        "lambda_concurrent_executions": 500.0,  # 1,000 at once over 2 s of executions per order
        "eventbridge_put_events": 1250.0,  # 10,000 requests/s over 8 entries, one request each
        "dynamodb_table_write_units": 800.0,  # 40,000/s over 50 units
        "dynamodb_table_read_units": 2000.0,  # 40,000/s over 20 units
    }


def test_the_least_quota_binds_and_names_what_to_raise() -> None:
    found = capacity.path_capacity(_used(state_transitions=40), QUOTAS)  # 5,000 / 40 = 125 < 300
    assert found["binding_quota"] == "stepfunctions_state_transitions"
    assert found["max_orders_per_second"] == 125.0
    assert found["raise"] == {"quota": "State transitions", "adjustable": True}


def test_lambda_concurrency_binds_as_the_seconds_of_executions_an_order_keeps_running() -> None:
    # 8 invocations of 0.625 s each: 5 s of executions per order; 1,000 at once carry 200 orders/s
    found = capacity.path_capacity(_used(lambda_seconds=8 * 0.625), QUOTAS)
    assert found["binding_quota"] == "lambda_concurrent_executions"
    assert found["max_orders_per_second"] == 200.0


def test_a_quota_that_cannot_be_adjusted_says_so() -> None:
    found = capacity.path_capacity(_used(dynamodb_read_units=400.0), QUOTAS)  # 40,000 / 400 = 100
    assert found["binding_quota"] == "dynamodb_table_read_units"
    assert found["raise"] == {"quota": "Table reads", "adjustable": False}


def test_a_rejected_order_starts_no_execution_so_step_functions_never_binds_it() -> None:
    found = capacity.path_capacity(_used(state_transitions=0, lambda_seconds=0.5), QUOTAS)
    assert found["orders_per_second"]["stepfunctions_start_execution"] is None
    assert found["orders_per_second"]["stepfunctions_state_transitions"] is None
    assert found["binding_quota"] == "dynamodb_table_write_units"  # 800 < 1,250, 2,000 and 1,000 / 0.5 = 2,000
    assert found["max_orders_per_second"] == 800.0


def test_a_quota_left_out_of_the_table_is_left_out_of_the_model() -> None:
    without_events = {name: quota for name, quota in QUOTAS.items() if name != "eventbridge_put_events"}
    assert "eventbridge_put_events" not in capacity.orders_per_second(_used(), without_events)


def test_the_model_reports_each_path_with_the_table_date_and_region() -> None:
    model = capacity.capacity_model({"happy": _used(), "rejected": _used(state_transitions=0)}, TABLE)
    assert (model["quotas_looked_up"], model["region"]) == ("2026-12-02", "us-east-1")
    assert model["paths"]["happy"]["max_orders_per_second"] == 300.0
    assert model["paths"]["rejected"]["binding_quota"] == "lambda_concurrent_executions"  # 1,000 / 2 s = 500


def test_the_dated_quota_table_says_for_each_quota_its_figure_where_it_was_read_and_if_it_adjusts() -> None:
    table = capacity.load_quotas()
    assert table["region"] == "us-east-1"
    assert table["looked_up"]
    for name, quota in table["quotas"].items():
        assert name in capacity.DRAWS, f"{name}: the model does not know what an order draws on it"
        assert isinstance(quota[capacity.DRAWS[name].supply], int | float), name
        assert quota["source"].startswith("https://"), name
        assert quota["read_from"], name
        assert quota["name"], name
        assert isinstance(quota["adjustable"], bool), name
