"""The Lambda context on every handler line, as Powertools' `inject_lambda_context` puts it: each
function's first invocation in an execution environment is its cold start."""

from __future__ import annotations

import json
from typing import Any

from harness.inprocess import InProcess
from tests.integration.test_handlers import invoke, started


def _task_lines(cloud: InProcess, function: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in cloud.function_logs(function) if line.startswith("{")]
    return [line for line in lines if line.get("message") in {"task done", "task failed"}]


def test_each_function_s_first_invocation_is_its_cold_start_and_the_next_is_warm(cloud: InProcess) -> None:
    # Given a fresh cloud: no function has run yet
    task = started(cloud, "cold-1", "med-1")
    # When one step runs twice, then a compensation runs once
    for handler in ("create_prescription", "create_prescription", "cancel_order"):
        _, error = invoke(cloud, handler, task)
        assert error is None
    # Then each function's first line says cold start, its second does not (Lambda reuses the environment)
    create, cancel = _task_lines(cloud, "create_prescription"), _task_lines(cloud, "cancel_order")
    assert [line["cold_start"] for line in create] == [True, False]
    assert [line["cold_start"] for line in cancel] == [True]
    assert len({line["function_request_id"] for line in create}) == 2
    assert {line["function_name"] for line in create}.isdisjoint({line["function_name"] for line in cancel})
