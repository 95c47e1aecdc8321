"""The measured counts at a real pharmacy's latency and token cache: a model, its assumptions stated.

Measured: each path's requests to the pharmacy per function, the seconds each function waited on
them (the reference pharmacy on 127.0.0.1 answers in milliseconds) and its Lambda seconds. Modelled:

- **latency**: a real pharmacy answers in `PHARMACY_LATENCY_SECONDS` per request, so each function
  that calls it runs its measured seconds, less its measured wait, plus that latency per request;
  Lambda bills the waiting as any other duration, and it is concurrency held (capacity.py);
- **secret reads**: an execution environment reads the token's secret at most once per
  `TOKEN_TTL_SECONDS` (lambdas/adapters/pharmacy_token.py); at a steady `ORDERS_PER_SECOND` a
  function keeps ceil(orders/s x its seconds per order) environments busy (Little's law), at
  least one, and each warm one reads once per TTL. Lambda also replaces environments (a new one
  reads at once), and a burst adds environments that read on their first call: the worst case is
  one read per invocation of a function that calls the pharmacy (`secret_reads_per_order_at_most`).

Paths that call no pharmacy (the built-in tables) come out unchanged, with no secret reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lambdas.adapters.pharmacy_token import TOKEN_MAX_AGE_SECONDS

PHARMACY_LATENCY_SECONDS = 0.2
"""A stated figure, not a measurement: a pharmacy system's answer over the internet."""
ORDERS_PER_SECOND = 10.0
"""A stated steady rate for the secret reads' model (a busy pharmacy chain's hour)."""
TOKEN_TTL_SECONDS = TOKEN_MAX_AGE_SECONDS


def assumptions() -> dict[str, Any]:
    return {
        "pharmacy_latency_seconds": PHARMACY_LATENCY_SECONDS,
        "orders_per_second": ORDERS_PER_SECOND,
        "token_ttl_seconds": TOKEN_TTL_SECONDS,
        "environments": "per function calling the pharmacy: ceil(orders/s x its seconds per order), at least one",
    }


def at_latency(used: Mapping[str, Any], latency: float) -> dict[str, Any]:
    """One path's counts with each pharmacy request taking `latency` seconds instead of the measured wait."""
    waited = used["pharmacy_wait_seconds"]
    extra = {f: n * latency - waited.get(f, 0.0) for f, n in used["pharmacy_requests"].items()}
    by_function = {f: round(s + extra.get(f, 0.0), 4) for f, s in used["lambda_seconds_by_function"].items()}
    seconds = round(used["lambda_seconds"] + sum(extra.values()), 4)
    return {**used, "lambda_seconds_by_function": by_function, "lambda_seconds": seconds}


def environments(used: Mapping[str, Any], orders_per_second: float) -> int:
    """Execution environments kept busy by the functions that call the pharmacy, at a steady rate."""
    seconds = used["lambda_seconds_by_function"]
    return sum(max(1, math.ceil(orders_per_second * seconds[f])) for f in used["pharmacy_requests"])


def secret_reads_per_order(used: Mapping[str, Any], orders_per_second: float, ttl_seconds: float) -> float:
    """Each environment reads once per TTL: environments / TTL reads a second, over orders a second."""
    return environments(used, orders_per_second) / (ttl_seconds * orders_per_second)


def modelled(
    used: Mapping[str, Any],
    latency: float = PHARMACY_LATENCY_SECONDS,
    orders_per_second: float = ORDERS_PER_SECOND,
    ttl_seconds: float = TOKEN_TTL_SECONDS,
) -> dict[str, Any]:
    """One path's counts as the cost and capacity models take them: at `latency`, with its secret reads."""
    slow = at_latency(used, latency)
    callers = used["pharmacy_requests"]
    return {
        **slow,
        "secret_reads_per_order": secret_reads_per_order(slow, orders_per_second, ttl_seconds),
        "secret_reads_per_order_at_most": sum(used["lambda_invocations"].get(f, 0) for f in callers),
    }


def modelled_paths(paths: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {path: modelled(used) for path, used in paths.items()}
