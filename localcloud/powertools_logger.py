"""Powertools Logger keys, per execution environment, for a local cloud whose Lambdas share one process.

A Powertools Logger keeps the keys it writes on every line (those `append_keys` adds, and the
Lambda context `inject_lambda_context` adds: function_name, function_request_id, cold_start...)
in its formatter's `log_format`, one dict per process: right on AWS, where a process is one
execution environment serving one invocation at a time; wrong here, where concurrent invocations
of several functions share the process and one would log under another's function name and
request id. Each execution environment (localcloud/execution_environments.py) keeps its own,
starting from the keys the process had after the handler's import (its init code).
Pinned by tests/localcloud/test_execution_environments.py: the sharing is still there in the
pinned Powertools, and concurrent invocations each log their own keys.
"""

from __future__ import annotations

import sys
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from localcloud import execution_environments

_PROCESS_KEYS = "_process_log_format"


def _keys(formatter: Any) -> dict[str, Any]:
    environment = execution_environments.current()
    process: dict[str, Any] = formatter.__dict__[_PROCESS_KEYS]
    if environment is None:
        return process
    if formatter not in environment.held:
        environment.held[formatter] = dict(process)
    keys: dict[str, Any] = environment.held[formatter]
    return keys


def _set_keys(formatter: Any, keys: dict[str, Any]) -> None:
    environment = execution_environments.current()
    if environment is None:
        formatter.__dict__[_PROCESS_KEYS] = keys
    else:
        environment.held[formatter] = keys


_PerEnvironmentFormatter = type(
    "_PerEnvironmentFormatter", (LambdaPowertoolsFormatter,), {"log_format": property(_keys, _set_keys)}
)


def log_keys_per_environment(package: str) -> None:
    """Give each execution environment its own keys, for every Powertools `Logger` a module of
    `package` (a handler's top-level package) holds (idempotent)."""
    prefix = package + "."
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(prefix)):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Logger):
                _per_environment(value.registered_formatter)


def _per_environment(formatter: Any) -> None:
    if isinstance(formatter, _PerEnvironmentFormatter):
        return
    if type(formatter) is not LambdaPowertoolsFormatter:
        raise RuntimeError(f"Logger keys are kept per environment for Powertools' own formatter only, not {formatter}")
    formatter.__dict__[_PROCESS_KEYS] = formatter.__dict__.pop("log_format")
    formatter.__class__ = _PerEnvironmentFormatter
