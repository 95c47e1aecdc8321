"""Orders per second one region carries, per path: the metered counts against the dated default quotas.

Each quota gives so much a second (a token bucket's refill rate, a rate limit) or, for Lambda,
so many executions at once; each order draws on it so much. Sustained, a path carries the
quota's figure divided by what one of its orders draws, and the smallest of these binds:
that quota is the one to raise first.

What one order draws, quota by quota:
- StartExecution: one execution, if the order's saga ran at all (a rejected order starts none);
- state transitions: the saga's transitions, as the cost model counts them;
- Lambda concurrency: by Little's law an order keeps `lambda_seconds` of executions running
  (invocations times their average duration), so 1,000 at once carry 1,000 / `lambda_seconds`
  orders a second. The durations are the local cloud's, on the bench's machine: the least
  transferable of these figures;
- PutEvents: one request per entry (the order event and each domain event). The publisher
  batches up to 10 entries a request, but a stream batch of one record is one request: the
  model assumes no batching, a lower bound on orders per second;
- DynamoDB: the quota is per table, but the units are metered over all tables together (the
  event store's table takes most writes): the total bounds any one table's share, so the
  orders per second is a lower bound too;
- GetSecretValue: the secret reads an order causes when its steps call the pharmacy (http_model).

Over HTTP the pharmacy's own rate limit binds too, and it is no quota of ours: each path
reports the requests one order sends it (`pharmacy_requests_per_order`), so a pharmacy that
takes L requests a second carries L divided by that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUOTAS = Path(__file__).with_name("quotas.json")

Used = Mapping[str, Any]
"""One path's counts per saga, as `usage.per_path_usage` gives them."""


def _executions_started(used: Used) -> float:
    return 1.0 if used["state_transitions"] else 0.0


@dataclass(frozen=True)
class Draw:
    """What one order draws on a quota, and which field of the quota's entry says how much it gives."""

    supply: str
    per_order: Callable[[Used], float]


DRAWS: dict[str, Draw] = {
    "stepfunctions_start_execution": Draw("refill_per_second", _executions_started),
    "stepfunctions_state_transitions": Draw("refill_per_second", lambda used: float(used["state_transitions"])),
    "lambda_concurrent_executions": Draw("concurrent_executions", lambda used: float(used["lambda_seconds"])),
    "eventbridge_put_events": Draw("requests_per_second", lambda used: float(used["eventbridge_events"])),
    "dynamodb_table_write_units": Draw("units_per_second", lambda used: float(used["dynamodb_write_units"])),
    "dynamodb_table_read_units": Draw("units_per_second", lambda used: float(used["dynamodb_read_units"])),
    "secretsmanager_get_secret_value": Draw("requests_per_second", lambda used: float(used["secret_reads_per_order"])),
}
"""The quotas the model knows how to draw on; a quota the table leaves out is left out here too."""


PHARMACY_LIMIT = (
    "the pharmacy's own rate limit: no quota of this stack's; a pharmacy taking L requests a second carries "
    "L / pharmacy_requests_per_order orders a second, whatever the quotas above allow"
)


def load_quotas() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(QUOTAS.read_text())
    return table


def orders_per_second(used: Used, quotas: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """Per quota in the table, the orders a second one path carries on it; None where it draws nothing."""
    carried: dict[str, float | None] = {}
    for name, quota in quotas.items():
        draw = DRAWS.get(name)
        if draw is None:
            continue
        per_order = draw.per_order(used)
        carried[name] = round(quota[draw.supply] / per_order, 1) if per_order > 0 else None
    return carried


def path_capacity(used: Used, quotas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One path's orders a second per quota, the quota that binds (the least), and what to raise."""
    carried = orders_per_second(used, quotas)
    bounded = {name: rate for name, rate in carried.items() if rate is not None}
    binding = min(bounded, key=lambda name: bounded[name]) if bounded else None
    return {
        "orders_per_second": carried,
        "pharmacy_requests_per_order": sum(used.get("pharmacy_requests", {}).values()),
        "max_orders_per_second": bounded[binding] if binding else None,
        "binding_quota": binding,
        "raise": (
            {"quota": quotas[binding]["name"], "adjustable": bool(quotas[binding]["adjustable"])} if binding else None
        ),
    }


def capacity_model(paths: Mapping[str, Used], table: Mapping[str, Any]) -> dict[str, Any]:
    """Per path, the sustained orders a second one region carries under the table's default quotas."""
    quotas = table["quotas"]
    return {
        "quotas_looked_up": table["looked_up"],
        "region": table["region"],
        "not_ours": PHARMACY_LIMIT,
        "paths": {path: path_capacity(used, quotas) for path, used in paths.items()},
    }
