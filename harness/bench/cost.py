"""Dollars per million orders, per path and per line: the metered counts times the dated price table.

The counts come through http_model.modelled: for a path whose steps call the pharmacy, its Lambda
seconds at the stated latency and its secret reads from the token's cache; for the built-in tables,
as measured and no secret reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRICES = Path(__file__).with_name("prices.json")
BASELINE = Path(__file__).with_name("baseline.json")
"""Each path's counts as measured before the cost work (dated, with its commit): priced here beside
the counts measured now, with the same prices."""
GOAL_COMPLETED_USD_PER_MILLION = 100.0
"""Issue 27: a completed order at most $100 per million, every guarantee kept."""
MEMORY_GB = 256 / 1024
"""Every function has 256 MB (infra/functions.py)."""


def cost_model(paths: dict[str, dict[str, Any]], prices: dict[str, Any]) -> dict[str, Any]:
    """Dollars per million orders, per path and per line, from the counts and the dated price table."""
    price = prices["prices_usd"]
    per_path: dict[str, Any] = {}
    for path, used in paths.items():
        invocations = sum(used["lambda_invocations"].values())
        # Lambda bills each invocation's duration rounded up to the millisecond
        gb_seconds = (used["lambda_seconds"] + invocations * 0.0005) * MEMORY_GB
        lines = {
            "lambda_requests": invocations * price["lambda_request"],
            "lambda_duration": gb_seconds * price["lambda_arm64_gb_second"],
            "stepfunctions_transitions": used["state_transitions"] * price["stepfunctions_standard_state_transition"],
            "dynamodb_writes": used["dynamodb_write_units"] * price["dynamodb_on_demand_write_request_unit"],
            "dynamodb_reads": used["dynamodb_read_units"] * price["dynamodb_on_demand_read_request_unit"],
            "eventbridge_events": used["eventbridge_events"] * price["eventbridge_custom_event"],
            "sqs_requests": used["sqs_requests"] * price["sqs_standard_request"],
            "cloudwatch_logs": used["log_bytes"] / 1e9 * price["cloudwatch_logs_ingested_gb"],
            "secretsmanager_api_calls": used["secret_reads_per_order"] * price["secretsmanager_api_call"],
        }
        per_million = {line: round(cost * 1e6, 2) for line, cost in lines.items()}
        per_path[path] = {
            "usd_per_million_orders": round(sum(per_million.values()), 2),
            "by_line": per_million,
            "biggest_line": max(per_million, key=lambda line: per_million[line]),
            # Were every function that calls the pharmacy to read the secret on each invocation.
            "secretsmanager_api_calls_at_most": round(
                used["secret_reads_per_order_at_most"] * price["secretsmanager_api_call"] * 1e6, 2
            ),
        }
    return {"prices_as_published": prices["as_published"], "region": prices["region"], "paths": per_path}


def against_baseline(
    now: dict[str, Any], prices: dict[str, Any], baseline: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Each path's dollars per million now (`now`, cost_model's answer) beside the baseline's counts
    priced the same way, and whether a completed order meets the goal."""
    recorded = baseline if baseline is not None else json.loads(BASELINE.read_text())
    # The baseline ran on the built-in tables: no secret reads.
    counts = {
        path: {"secret_reads_per_order": 0.0, "secret_reads_per_order_at_most": 0, **used}
        for path, used in recorded["per_saga"].items()
    }
    then = cost_model(counts, prices)["paths"]
    paths = {
        path: {
            "usd_per_million_orders": priced["usd_per_million_orders"],
            "baseline_usd_per_million_orders": then[path]["usd_per_million_orders"] if path in then else None,
            "by_line": priced["by_line"],
            "baseline_by_line": then[path]["by_line"] if path in then else None,
        }
        for path, priced in now["paths"].items()
    }
    completed = paths["happy"]["usd_per_million_orders"]
    return {
        "baseline_commit": recorded["commit"],
        "baseline_measured_at": recorded["measured_at"],
        "goal_completed_usd_per_million": GOAL_COMPLETED_USD_PER_MILLION,
        "completed_meets_goal": completed <= GOAL_COMPLETED_USD_PER_MILLION,
        "paths": paths,
    }
