"""An in-process Lambda runtime: runs the handler named in a function's configuration.

Each invocation sees the environment configured for its function in the template (plus
what the Lambda service itself sets), gets a Lambda context, and returns errors in
Lambda's format so Step Functions Catch clauses match on the exception's class name.
Invocations run concurrently in threads, so the environment is a per-thread overlay and
stdout/stderr are routed per invocation into that function's log group. Each invocation is
served by an execution environment of its function (localcloud/execution_environments.py):
its cold start, its Powertools Logger keys, its function's singletons (pending metrics: per thread). Each invocation
runs as its function's execution role: every AWS call the handler makes is authorised as
that role (`localcloud.access`).
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import math
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from typing import Any, TextIO

from localcloud import aws_metrics, execution_environments, powertools_logger, powertools_metrics
from localcloud.access.principals import Principal, acting_as

# --- a per-thread environment ------------------------------------------------------------

_overlay: ContextVar[dict[str, str] | None] = ContextVar("lambda_environment", default=None)


class _OverlayEnviron(MutableMapping[str, str]):
    """`os.environ` that, inside an invocation, shows that function's environment first."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base

    def _layer(self) -> dict[str, str] | None:
        return _overlay.get()

    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None and key in layer:
            return layer[key]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is not None:
            layer[key] = value
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is not None and key in layer:
            del layer[key]
        else:
            del self.base[key]

    def __iter__(self) -> Iterator[str]:
        layer = self._layer() or {}
        yield from layer
        yield from (k for k in self.base if k not in layer)

    def __len__(self) -> int:
        return len(set(self.base) | set(self._layer() or {}))

    def copy(self) -> dict[str, str]:
        return dict(self)


def install_environ_overlay() -> None:
    if not isinstance(os.environ, _OverlayEnviron):
        # Replacing the mapping object (not its contents) on purpose: a per-thread view.
        os.environ = _OverlayEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


# --- per-invocation output ---------------------------------------------------------------


@dataclass
class InvocationRecord:
    function_name: str
    request_id: str
    log_group: str
    log_stream: str
    role: str
    output: list[str] = field(default_factory=list)


_current: ContextVar[InvocationRecord | None] = ContextVar("lambda_invocation", default=None)


class _RoutedStream(io.TextIOBase):
    """Writes inside an invocation go to that invocation's output; others pass through."""

    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback

    @property
    def fallback(self) -> TextIO:
        """The stream replaced; the process's own once that one is closed (a test runner's capture ends)."""
        if getattr(self._fallback, "closed", False):
            return sys.__stderr__ or sys.stderr
        return self._fallback

    def write(self, text: str) -> int:
        record = _current.get()
        if record is None:
            return self.fallback.write(text)
        record.output.append(text)
        return len(text)

    def flush(self) -> None:
        if _current.get() is None:
            self.fallback.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        # Whatever else the replaced stream offers (pytest's capture reads `getvalue`, ...).
        return getattr(self.fallback, name)


_routed_stdout = _RoutedStream(sys.__stdout__ or sys.stdout)


def _routed_print(*values: object, **kwargs: Any) -> None:
    kwargs.setdefault("file", _routed_stdout)
    print(*values, **kwargs)


def _route_emf_output() -> None:
    """Powertools Metrics writes EMF with `print`: send it to the invocation's log.

    Routing through `sys.stdout` alone is not enough when a test runner swaps `sys.stdout`
    while background invocations are running.
    """
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch

    cloudwatch.print = _routed_print  # type: ignore[attr-defined]  # Powertools' module print, rerouted


def _route_output() -> None:
    """Route stdout/stderr and the logging handlers' streams (bound at import) per invocation."""
    if not isinstance(sys.stdout, _RoutedStream):
        sys.stdout = _RoutedStream(sys.stdout)
    if not isinstance(sys.stderr, _RoutedStream):
        sys.stderr = _RoutedStream(sys.stderr)
    for logger in [logging.getLogger(), *logging.getLogger().manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and stream and not isinstance(stream, _RoutedStream):
                # Not `setStream`: it flushes the old stream first, which a test runner may have closed
                # (a handler made while CliRunner held stdout), and every invocation after would fail.
                handler.acquire()
                try:
                    handler.stream = _RoutedStream(stream)
                finally:
                    handler.release()


# --- the Lambda context ------------------------------------------------------------------


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    log_group: str
    region: str
    role: str
    """The execution role's ARN: every AWS call the handler makes is authorised as this role."""


LogSink = Callable[[InvocationRecord, list[str]], None]


def _stack_trace(error: BaseException) -> list[str]:
    """`traceback.format_tb(error.__traceback__)` without the carets under each line: placing them,
    Python 3.11 parses each line's source into an AST, and CPython 3.11 can fail two ASTs built at
    once on different threads (python/cpython#106905); every failed step formats its stack on its
    execution's thread. One string per frame, as Lambda's Python runtime reports `stackTrace`."""
    frames = traceback.extract_tb(error.__traceback__)
    plain = [traceback.FrameSummary(f.filename, f.lineno, f.name, line=f.line) for f in frames]
    return traceback.StackSummary.from_list(plain).format()


class InProcessRuntime:
    """Imports handlers from the project's source and invokes them in the calling thread."""

    def __init__(self, service_environment: dict[str, str], log_sink: LogSink) -> None:
        self._service_environment = service_environment
        self._log_sink = log_sink
        self._import_lock = threading.Lock()
        self.invocations: dict[str, int] = {}
        self.errors: list[tuple[str, str, str]] = []
        """(function, error type, message) of every invocation that raised."""
        self.durations: dict[str, list[float]] = {}
        """Wall seconds of every invocation, per function."""
        self._count_lock = threading.Lock()
        self._prepared: set[str] = set()
        """Handler modules whose package keeps its Powertools state and caches per environment."""
        self.environments = execution_environments.EnvironmentPool()
        self.replacements: dict[str, Callable[[Any, Any], Any]] = {}
        """Handlers to run instead of the deployed ones, by handler path (the bench's no-op floor)."""

    def _handler(self, path: str) -> Callable[[Any, Any], Any]:
        if path in self.replacements:
            return self.replacements[path]
        module_name, _, function_name = path.rpartition(".")
        with self._import_lock:  # two threads importing one module at once can see it half-made
            module = importlib.import_module(module_name)
            if module_name not in self._prepared:
                package = module_name.partition(".")[0]
                powertools_metrics.pending_metrics_per_thread(package)
                powertools_logger.log_keys_per_environment(package)
                execution_environments.singletons_per_function(package)
                self._prepared.add(module_name)
        handler: Callable[[Any, Any], Any] = getattr(module, function_name)
        return handler

    def invoke(self, function: FunctionConfig, event: Any) -> tuple[str, bool]:
        """Run one invocation: (response body, errored)."""
        install_environ_overlay()
        _route_output()
        _route_emf_output()
        request_id = str(uuid.uuid4())
        environment = {
            **self._service_environment,
            **function.environment,
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
            "_HANDLER": function.handler,
        }
        log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/{function.name}[$LATEST]{request_id.replace('-', '')}"
        record = InvocationRecord(function.name, request_id, function.log_group, log_stream, function.role)
        context = LambdaContext(
            function_name=function.name,
            function_version="$LATEST",
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.memory_mb,
            aws_request_id=request_id,
            log_group_name=function.log_group,
            log_stream_name=log_stream,
            deadline=time.monotonic() + function.timeout_seconds,
        )
        with self._count_lock:
            self.invocations[function.name] = self.invocations.get(function.name, 0) + 1
        began = time.perf_counter()
        record.output.append(f"START RequestId: {request_id} Version: $LATEST\n")
        env_token = _overlay.set(environment)
        out_token = _current.set(record)
        errored = False
        try:
            # Init code too (the handler's import) runs with the function's role, as on AWS.
            with (
                acting_as(Principal.function_role(function.role, function.name)),
                self.environments.serving(function.name, environment),
            ):
                handler = self._handler(function.handler)
                # In a copy of the context: what the handler sets in context variables (Powertools'
                # thread-safe log keys) ends with it, not on this thread's next function's lines.
                response = json.dumps(copy_context().run(handler, event, context))
        except Exception as error:  # the handler's failure is the invocation's result, as in Lambda
            errored = True
            response = json.dumps(
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "requestId": request_id,
                    "stackTrace": _stack_trace(error),
                }
            )
            record.output.append(f"[ERROR] {type(error).__name__}: {error}\n")
            with self._count_lock:
                self.errors.append((function.name, type(error).__name__, str(error)))
        finally:
            _current.reset(out_token)
            _overlay.reset(env_token)
        seconds = time.perf_counter() - began
        with self._count_lock:
            self.durations.setdefault(function.name, []).append(seconds)
        aws_metrics.invocation(function.arn, function.name, seconds * 1000, errored)
        # The lines Lambda's runtime writes around every invocation (memory used is not measured here).
        record.output.append(f"END RequestId: {request_id}\n")
        record.output.append(
            f"REPORT RequestId: {request_id}\tDuration: {seconds * 1000:.2f} ms\t"
            f"Billed Duration: {math.ceil(seconds * 1000)} ms\tMemory Size: {function.memory_mb} MB\n"
        )
        lines = "".join(record.output).splitlines()
        self._log_sink(record, lines)
        return response, errored
