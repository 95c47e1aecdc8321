"""The in-process runtime reports a handler's failure as Lambda does, without building ASTs."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from localcloud.runtime import FunctionConfig, InProcessRuntime


def _refuse(order: dict[str, Any]) -> None:
    raise ValueError(f"order {order['id']} refused")


def _handler(event: Any, context: Any) -> None:
    _refuse(event)


def test_a_failed_invocation_reports_its_stack_one_frame_a_string_and_parses_no_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = InProcessRuntime({}, lambda record, lines: None)
    runtime.replacements["tests.handler"] = _handler
    function = FunctionConfig(
        name="f",
        arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        handler="tests.handler",
        environment={},
        timeout_seconds=3,
        memory_mb=128,
        log_group="/aws/lambda/f",
        region="us-east-1",
        role="arn:aws:iam::123456789012:role/f",
    )

    parsed: list[Any] = []
    parse = ast.parse

    def counted(*args: Any, **kwargs: Any) -> Any:
        parsed.append(args)
        return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", counted)
    response, errored = runtime.invoke(function, {"id": "o-1"})
    monkeypatch.undo()

    assert parsed == [], "no AST built: CPython 3.11 can fail two built at once (python/cpython#106905)"

    assert errored
    body = json.loads(response)
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "order o-1 refused"
    stack = body["stackTrace"]
    assert [line.split(", in ")[1].split("\n")[0] for line in stack[-2:]] == ["_handler", "_refuse"]
    assert stack[-1].startswith('  File "')
    assert "raise ValueError(" in stack[-1]
    assert not any("^" in line for line in stack), "no carets"
    assert runtime.errors == [("f", "ValueError", "order o-1 refused")]


def test_a_logging_handler_bound_to_a_closed_stream_does_not_break_later_invocations() -> None:
    # Found by the CLI's tests: a handler made while Typer's CliRunner held stdout keeps that stream,
    # which the runner closes; routing it with `setStream` flushed the closed stream first, so every
    # later invocation failed with "I/O operation on closed file" and the cloud never went idle.
    import io
    import logging

    from localcloud.runtime import _route_output

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    orphan = logging.getLogger("test-closed-stream")
    orphan.addHandler(handler)
    try:
        captured.close()
        _route_output()  # raised ValueError before
        orphan.error("written outside any invocation, after the capture closed")  # no error either
    finally:
        orphan.removeHandler(handler)
