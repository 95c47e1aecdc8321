"""The HTTP steps' model and its prices: expected values worked by hand from the counts defined here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.bench import capacity, cost, http_model

AWS_SECRETS_MANAGER_PER_10000_CALLS = 0.05
"""aws.amazon.com/secrets-manager/pricing: $0.05 per 10,000 API calls."""
AWS_LAMBDA_ARM_GB_SECOND = 0.0000133334
"""aws.amazon.com/lambda/pricing: Arm, first tier, us-east-1."""


def _used() -> dict[str, Any]:
    """A path whose prescription step sends one request and whose reservation was retried once."""
    return {
        "lambda_invocations": {"start_saga": 1, "create_prescription": 1, "reserve_inventory": 2},
        "lambda_seconds": 0.1,
        "lambda_seconds_by_function": {"start_saga": 0.05, "create_prescription": 0.03, "reserve_inventory": 0.02},
        "pharmacy_requests": {"create_prescription": 1, "reserve_inventory": 2},
        "pharmacy_wait_seconds": {"create_prescription": 0.01, "reserve_inventory": 0.004},
        "state_transitions": 4,
        "dynamodb_write_units": 0.0,
        "dynamodb_read_units": 0.0,
        "eventbridge_events": 0,
        "sqs_requests": 0,
        "log_bytes": 0,
    }


def test_each_request_takes_the_stated_latency_in_place_of_the_measured_wait() -> None:
    slow = http_model.at_latency(_used(), latency=0.2)
    assert slow["lambda_seconds_by_function"] == {
        "start_saga": 0.05,  # calls no pharmacy
        "create_prescription": pytest.approx(0.03 - 0.01 + 0.2),
        "reserve_inventory": pytest.approx(0.02 - 0.004 + 2 * 0.2),
    }
    assert slow["lambda_seconds"] == pytest.approx(0.1 + 0.19 + 0.396)


def test_each_busy_environment_reads_the_secret_once_per_ttl() -> None:
    slow = http_model.at_latency(_used(), latency=0.2)
    # at 10 orders/s: ceil(10 x 0.22) = 3 and ceil(10 x 0.416) = 5 environments, 8 reads per 300 s
    assert http_model.environments(slow, 10.0) == 8
    assert http_model.secret_reads_per_order(slow, 10.0, 300) == pytest.approx(8 / 300 / 10)
    # at one order every 10 s each function keeps one environment: 2 reads per 300 s, over 0.1 orders/s
    assert http_model.secret_reads_per_order(slow, 0.1, 300) == pytest.approx(2 / 300 / 0.1)


def test_the_worst_case_is_one_read_per_invocation_of_a_function_that_calls_the_pharmacy() -> None:
    modelled = http_model.modelled(_used(), latency=0.2, orders_per_second=10.0, ttl_seconds=300)
    assert modelled["secret_reads_per_order_at_most"] == 1 + 2


def test_a_path_that_calls_no_pharmacy_is_left_as_measured() -> None:
    used = {**_used(), "pharmacy_requests": {}, "pharmacy_wait_seconds": {}}
    modelled = http_model.modelled(used)
    assert modelled["lambda_seconds"] == 0.1
    assert modelled["lambda_seconds_by_function"] == used["lambda_seconds_by_function"]
    assert (modelled["secret_reads_per_order"], modelled["secret_reads_per_order_at_most"]) == (0.0, 0)


def test_the_model_reads_the_ttl_the_token_cache_uses() -> None:
    assert http_model.assumptions()["token_ttl_seconds"] == 5 * 60  # "cached 5 minutes" (issue 24)


def test_the_prices_file_holds_aws_prices_for_secret_reads_and_arm_duration() -> None:
    prices = json.loads(cost.PRICES.read_text())
    price = prices["prices_usd"]
    assert price["secretsmanager_api_call"] == pytest.approx(AWS_SECRETS_MANAGER_PER_10000_CALLS / 10_000)
    assert price["lambda_arm64_gb_second"] == pytest.approx(AWS_LAMBDA_ARM_GB_SECOND)
    assert prices["sources"]["secretsmanager"].startswith("https://aws.amazon.com/secrets-manager/pricing")
    assert prices["checked"]["on"]


def test_the_cost_of_the_http_steps_is_their_modelled_duration_and_secret_reads_at_aws_prices() -> None:
    prices = json.loads(cost.PRICES.read_text())
    modelled = http_model.modelled(_used(), latency=0.2, orders_per_second=10.0, ttl_seconds=300)
    priced = cost.cost_model({"path": modelled}, prices)["paths"]["path"]
    per_call = AWS_SECRETS_MANAGER_PER_10000_CALLS / 10_000
    assert priced["by_line"]["secretsmanager_api_calls"] == round(8 / 3000 * per_call * 1e6, 2)
    assert priced["secretsmanager_api_calls_at_most"] == round(3 * per_call * 1e6, 2)  # $15 per million
    # 0.686 s, plus half a millisecond of rounding up for each of 4 invocations, at 256 MB
    gb_seconds = (0.686 + 4 * 0.0005) * 0.25
    assert priced["by_line"]["lambda_duration"] == round(gb_seconds * AWS_LAMBDA_ARM_GB_SECOND * 1e6, 2)


def test_capacity_over_http_draws_the_modelled_seconds_and_reads_and_names_the_pharmacys_limit() -> None:
    quotas = {
        "lambda_concurrent_executions": {"name": "Lambda", "concurrent_executions": 1000, "adjustable": True},
        "secretsmanager_get_secret_value": {
            "name": "GetSecretValue",
            "requests_per_second": 10000,
            "adjustable": False,
        },
    }
    modelled = http_model.modelled(_used(), latency=0.2, orders_per_second=10.0, ttl_seconds=300)
    found = capacity.path_capacity(modelled, quotas)
    assert found["orders_per_second"] == {
        "lambda_concurrent_executions": round(1000 / 0.686, 1),
        "secretsmanager_get_secret_value": round(10000 / (8 / 3000), 1),
    }
    assert found["binding_quota"] == "lambda_concurrent_executions"
    assert found["pharmacy_requests_per_order"] == 3
    model = capacity.capacity_model({"path": modelled}, {"region": "us-east-1", "looked_up": "x", "quotas": quotas})
    assert "pharmacy's own rate limit" in model["not_ours"]
