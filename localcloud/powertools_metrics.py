"""Powertools Metrics, per invocation, for a local cloud whose Lambdas share one process.

Powertools keeps the metrics, dimensions and metadata waiting for the flush in dicts that
every `Metrics` instance shares (class attributes): right on AWS, where a process serves one
invocation at a time, wrong here, where concurrent invocations share a process — one
invocation's flush clears or publishes another's metrics ("Must contain at least one metric").
Pinned by tests/localcloud/test_patches.py: the sharing is still there in the pinned
Powertools, and two concurrent invocations flush only their own metrics.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

_PER_INVOCATION_METRIC_STATE = ("metric_set", "dimension_set", "metadata_set", "dimension_sets", "timestamp")


def _metric_state(name: str) -> property:
    def fresh(provider: Any) -> Any:
        if name == "dimension_set":
            return {k: str(v) for k, v in provider.default_dimensions.items()}
        return {"dimension_sets": [], "timestamp": None}.get(name, {})

    def get(provider: Any) -> Any:
        local = provider.__dict__["_invocation_state"]
        if not hasattr(local, name):
            setattr(local, name, fresh(provider))
        return getattr(local, name)

    def put(provider: Any, value: Any) -> None:
        setattr(provider.__dict__["_invocation_state"], name, value)

    return property(get, put)


def pending_metrics_per_thread(package: str) -> None:
    """Give each invocation thread its own pending metrics, for every Powertools `Metrics` a module
    of `package` (a handler's top-level package) holds (idempotent)."""
    prefix = package + "."
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(prefix)):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Metrics):
                _per_thread(value.provider)


def _per_thread(provider: Any) -> None:
    if isinstance(provider, _PerThreadEMFProvider):
        return
    if type(provider) is not AmazonCloudWatchEMFProvider:
        raise RuntimeError(f"pending metrics are kept per thread for the EMF provider only, not {type(provider)}")
    for name in _PER_INVOCATION_METRIC_STATE:
        provider.__dict__.pop(name, None)
    provider.__dict__["_invocation_state"] = threading.local()
    provider.__class__ = _PerThreadEMFProvider


_PerThreadEMFProvider = type(
    "_PerThreadEMFProvider",
    (AmazonCloudWatchEMFProvider,),
    {name: _metric_state(name) for name in _PER_INVOCATION_METRIC_STATE},
)
