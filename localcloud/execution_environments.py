"""Lambda's execution environments, for a runtime that runs every function's invocations in one process.

Lambda runs a function's invocations one at a time each in an execution environment (its own
process) that it creates when none is idle (a cold start) and reuses while it lives; concurrent
invocations get environments of their own, and no two functions share one. What a function's
code and Powertools keep per process is therefore per environment on AWS. The in-process runtime
gives each invocation such an environment (`EnvironmentPool.serving`) and keeps there, rather than
in the shared process:

- Powertools' cold-start flags (module globals of its Logger and Tracer): the patches below;
- the keys a Powertools Logger puts on every line: localcloud/powertools_logger.py;
- the process's one this-or-that of the function's code (a module-level `functools.cache` that
  takes no arguments: its settings, its SSM provider, its tracer), per function configuration
  (`singletons_per_function`): with no argument to tell functions apart, what it returns can
  only come from the function's environment. A cache keyed by its arguments (a client per
  service) already holds one value per argument, and stays the process's: its values are the
  same for every function of the stack, and the harness meters the functions' calls on them.
  Per configuration rather than per environment: one function's environments read the same
  variables, and cannot tell a shared singleton from their own.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.tracing import tracer as powertools_tracer

from localcloud.patching import Kind, Patch

_COLD_START_REPORTERS = ("logger", "tracer")
"""The Powertools utilities that each keep their own cold-start flag (a module global)."""


@dataclass(eq=False)
class ExecutionEnvironment:
    function_name: str
    configuration: Hashable
    """What the function runs with (its whole environment): caches are kept per configuration."""
    not_yet_cold: set[str] = field(default_factory=lambda: set(_COLD_START_REPORTERS))
    """The utilities that have not yet reported this environment's cold start."""
    held: dict[object, Any] = field(default_factory=dict)
    """What Powertools objects keep per process, by object (a Logger formatter's keys)."""

    def cold_start(self, reporter: str) -> bool:
        """True the first time `reporter` asks in this environment, as Powertools' flag is per process."""
        if reporter in self.not_yet_cold:
            self.not_yet_cold.discard(reporter)
            return True
        return False


_current: ContextVar[ExecutionEnvironment | None] = ContextVar("lambda_execution_environment", default=None)


def current() -> ExecutionEnvironment | None:
    """The environment of the invocation running on this thread; None outside an invocation."""
    return _current.get()


class EnvironmentPool:
    """Each function's idle environments: an invocation takes one, or gets a new one (a cold start)."""

    def __init__(self) -> None:
        self._idle: dict[str, list[ExecutionEnvironment]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def serving(self, function_name: str, environment: Mapping[str, str]) -> Iterator[ExecutionEnvironment]:
        configuration = frozenset(environment.items())
        with self._lock:
            idle = self._idle.setdefault(function_name, [])
            reusable = [e for e in idle if e.configuration == configuration]
            chosen = reusable[-1] if reusable else ExecutionEnvironment(function_name, configuration)
            if reusable:
                idle.remove(chosen)
        token = _current.set(chosen)
        try:
            yield chosen
        finally:
            _current.reset(token)
            with self._lock:
                self._idle[function_name].append(chosen)


# --- cold starts ---------------------------------------------------------------------------


def _cold_start_per_environment(reporter: str, powertools_own: Callable[[], bool]) -> Callable[[], bool]:
    def is_cold_start() -> bool:
        environment = _current.get()
        return powertools_own() if environment is None else environment.cold_start(reporter)

    return is_cold_start


PATCHES = (
    Patch(
        powertools_logger,
        "_is_cold_start",
        _cold_start_per_environment("logger", powertools_logger._is_cold_start),
        Kind.GAP,
        why="Powertools' Logger keeps one cold-start flag per process (`is_cold_start`); the local cloud "
        "runs every function in one process, so only the first function invoked would log `cold_start` "
        "true. Each execution environment reports its own first invocation as Lambda does.",
    ),
    Patch(
        powertools_tracer,
        "_is_cold_start",
        _cold_start_per_environment("tracer", powertools_tracer._is_cold_start),
        Kind.GAP,
        why="Powertools' Tracer keeps its own process-wide cold-start flag for the `ColdStart` annotation: "
        "per execution environment here, as the Logger's.",
    ),
)


# --- module-level caches ---------------------------------------------------------------------


class _PerFunctionCache:
    """Stands in for a singleton of a function's code: one per function configuration inside
    invocations, the original (the process's) outside them."""

    def __init__(self, cached: Any) -> None:
        self._process = cached
        self._parameters: dict[str, Any] = cached.cache_parameters()
        self._by_configuration: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        functools.update_wrapper(self, cached)

    def _cache(self, configuration: Hashable) -> Any:
        with self._lock:
            cache = self._by_configuration.get(configuration)
            if cache is None:
                cache = functools.lru_cache(**self._parameters)(self._process.__wrapped__)
                self._by_configuration[configuration] = cache
            return cache

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        environment = _current.get()
        if environment is None:
            return self._process(*args, **kwargs)
        return self._cache(environment.configuration)(*args, **kwargs)

    def cache_clear(self) -> None:
        """Every function's cache and the process's: what a test means by a new execution environment."""
        self._process.cache_clear()
        with self._lock:
            self._by_configuration.clear()


_stand_ins: dict[int, _PerFunctionCache] = {}
"""By the id of the cache each replaces (the stand-in holds it, so the id stays its own)."""


def _in(package: str, name: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_singleton(value: Any, package: str) -> bool:
    """A module-level cache, defined in `package`, of a function that takes no arguments."""
    if not isinstance(value, functools._lru_cache_wrapper) or not _in(package, str(value.__module__)):
        return False
    return not inspect.signature(value.__wrapped__).parameters


def singletons_per_function(package: str) -> None:
    """Replace each singleton of `package` (a handler's top-level package), in every module of the
    package that holds it, by one kept per function configuration (idempotent)."""
    modules = [m for n, m in list(sys.modules.items()) if m is not None and _in(package, n)]
    for module in modules:
        for name, value in list(vars(module).items()):
            if _is_singleton(value, package):
                if id(value) not in _stand_ins:
                    _stand_ins[id(value)] = _PerFunctionCache(value)
                setattr(module, name, _stand_ins[id(value)])
