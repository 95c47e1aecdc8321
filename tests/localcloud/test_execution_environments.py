"""Each invocation gets what Lambda gives it although every function runs in one process: its own
function's settings, its own Logger keys, a cold start per execution environment.

The "still shared" tests pin why the local cloud does it: Powertools keeps these per process, right
on AWS (a process is one execution environment); if one fails after a Powertools upgrade, Powertools
changed, and the matching part of localcloud/execution_environments.py or powertools_logger.py goes.
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.tracing import tracer as powertools_tracer

from localcloud import execution_environments
from localcloud.execution_environments import EnvironmentPool
from localcloud.runtime import FunctionConfig, InProcessRuntime, InvocationRecord
from tests.concurrency import at_once
from tests.localcloud.pins import moto_own, pins

# A Lambda function's code as the cookbook writes it: a Powertools Logger, the handler decorated
# with `inject_lambda_context`, the environment read once per execution environment (a cache).
_FUNCTION_CODE = """
import os
from functools import cache

from aws_lambda_powertools import Logger

logger = Logger(service="probe")


@cache
def settings() -> str:
    return os.environ["TABLE"]


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    event["both_inside"].wait()  # both invocations have their context keys before either logs
    logger.info("read", extra={"table": settings()})
    return {"table": settings()}


def keeps_a_thread_key(event, context):
    logger.thread_safe_append_keys(order=event["order"])
    logger.info("kept")
    return {}


def plain(event, context):
    logger.info("plain")
    return {}
"""


@pytest.fixture
def function_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The handler path of a fresh copy of that code (its own top-level package, as a function's asset)."""
    package = f"probe_{uuid.uuid4().hex}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "handler.py").write_text(textwrap.dedent(_FUNCTION_CODE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{package}.handler.handler"
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _function(name: str, handler: str) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler=handler,
        environment={"TABLE": f"table-of-{name}"},
        timeout_seconds=3,
        memory_mb=128,
        log_group=f"/aws/lambda/{name}",
        region="us-east-1",
        role=f"arn:aws:iam::123456789012:role/{name}",
    )


class _Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[InvocationRecord, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, record: InvocationRecord, lines: list[str]) -> None:
        with self._lock:
            self.lines += [(record, json.loads(line)) for line in lines if line.startswith("{")]


def _invoke(runtime: InProcessRuntime, function: FunctionConfig, parties: int = 1) -> dict[str, Any]:
    response, errored = runtime.invoke(function, {"both_inside": threading.Barrier(parties, timeout=10)})
    assert not errored, response
    answer: dict[str, Any] = json.loads(response)
    return answer


def test_concurrent_invocations_of_two_functions_each_log_their_own_context_and_read_their_own_settings(
    function_code: str,
) -> None:
    logs = _Logs()
    runtime = InProcessRuntime({}, logs)
    functions = [_function("first", function_code), _function("second", function_code)]
    barrier = threading.Barrier(2, timeout=10)

    def invoke(n: int) -> dict[str, Any]:
        response, errored = runtime.invoke(functions[n], {"both_inside": barrier})
        assert not errored, response
        answer: dict[str, Any] = json.loads(response)
        return answer

    answers = at_once(2, invoke)

    # Each function's settings are its own environment's: {"TABLE": "table-of-<name>"} (above).
    assert answers == [{"table": "table-of-first"}, {"table": "table-of-second"}]
    said = [(record, line) for record, line in logs.lines if line["message"] == "read"]
    assert len(said) == 2
    for record, line in said:
        # The runtime's own record of the invocation (its START line, its log stream) is the reference.
        assert line["function_name"] == record.function_name
        assert line["function_request_id"] == record.request_id
        assert line["table"] == f"table-of-{record.function_name}"


def test_the_first_invocation_of_each_function_is_a_cold_start_the_next_is_not(function_code: str) -> None:
    execution_environments_installed()
    logs = _Logs()
    runtime = InProcessRuntime({}, logs)
    first, second = _function("first", function_code), _function("second", function_code)
    for function in (first, first, second, second):
        _invoke(runtime, function)

    cold = [(record.function_name, line["cold_start"]) for record, line in logs.lines if line["message"] == "read"]
    assert cold == [("first", True), ("first", False), ("second", True), ("second", False)]


def test_concurrent_invocations_of_one_function_are_each_a_cold_start(function_code: str) -> None:
    # Lambda serves concurrent invocations with an environment each: both are cold, a later one is not.
    execution_environments_installed()
    logs = _Logs()
    runtime = InProcessRuntime({}, logs)
    function = _function("only", function_code)
    barrier = threading.Barrier(2, timeout=10)
    at_once(2, lambda n: runtime.invoke(function, {"both_inside": barrier}))
    _invoke(runtime, function)

    cold = [line["cold_start"] for record, line in logs.lines if line["message"] == "read"]
    assert cold == [True, True, False]


def test_what_an_invocation_sets_in_its_context_is_not_on_the_next_function_s_lines(function_code: str) -> None:
    # Powertools' thread-safe keys live in a context variable: the runtime runs invocations on
    # whichever thread asks, so one function's key stayed on that thread for the next function.
    logs = _Logs()
    runtime = InProcessRuntime({}, logs)
    package = function_code.rpartition(".")[0]
    keeps = _function("keeps", f"{package}.keeps_a_thread_key")
    plain = _function("plain", f"{package}.plain")
    for function, event in ((keeps, {"order": "o-1"}), (plain, {})):
        response, errored = runtime.invoke(function, event)
        assert not errored, response

    lines = {line["message"]: line for record, line in logs.lines}
    assert lines["kept"]["order"] == "o-1"
    assert "order" not in lines["plain"]


def execution_environments_installed() -> None:
    from localcloud import patches

    patches.apply_patches()


# --- Powertools still keeps these per process -------------------------------------------------


def test_powertools_logger_still_keeps_its_keys_per_process() -> None:
    # Why each execution environment keeps its own (localcloud/powertools_logger.py): a key one
    # thread appends is on another thread's lines.
    logger = Logger(service=f"pin-{uuid.uuid4().hex}")
    appended = threading.Thread(target=lambda: logger.append_keys(function_name="appended-elsewhere"))
    appended.start()
    appended.join()
    assert logger.get_current_keys()["function_name"] == "appended-elsewhere"


@pins("core.aws_lambda_powertools.logging.logger._is_cold_start")
def test_powertools_logger_still_has_one_cold_start_per_process_and_the_patch_one_per_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(powertools_logger, "is_cold_start", True)
    with moto_own("core.aws_lambda_powertools.logging.logger._is_cold_start"):
        assert [powertools_logger._is_cold_start(), powertools_logger._is_cold_start()] == [True, False]
    _each_environment_has_its_cold_start(powertools_logger._is_cold_start)


@pins("core.aws_lambda_powertools.tracing.tracer._is_cold_start")
def test_powertools_tracer_still_has_one_cold_start_per_process_and_the_patch_one_per_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(powertools_tracer, "is_cold_start", True)
    with moto_own("core.aws_lambda_powertools.tracing.tracer._is_cold_start"):
        assert [powertools_tracer._is_cold_start(), powertools_tracer._is_cold_start()] == [True, False]
    _each_environment_has_its_cold_start(powertools_tracer._is_cold_start)


def _each_environment_has_its_cold_start(is_cold_start: Any) -> None:
    pool = EnvironmentPool()
    seen = []
    for function in ("a", "a", "b"):
        with pool.serving(function, {"F": function}):
            seen.append((function, is_cold_start()))
    assert seen == [("a", True), ("a", False), ("b", True)]
    assert execution_environments.current() is None
