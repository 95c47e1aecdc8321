"""Where a local cloud's CPU goes, by layer: handler code, AWS requests, AWS emulation, GC.

The bench's throughput ratio is a ratio of CPU (one process, one GIL): to know what a
saga costs beyond the engine floor, each thread's CPU time is charged to the innermost
layer running on it. Entering a layer pauses the one it interrupts, so each figure is
exclusive: a handler's time excludes the requests it makes, a request's time excludes
what moto's service code does with it, and a garbage collection is charged to `gc`
whatever it interrupted. What no layer claims (the Step Functions engine, pollers, the
load driver) is the remainder of the process's CPU.

Layers:
- `handler:<function>`: the Lambda handler (Powertools included), in the in-process runtime;
- `request:<service>`: a botocore call minus moto's service code: botocore's validation,
  serialization, parsing and retries, and moto's routing and request parsing;
- `emulation:<service>`: moto's service code answering one request (`call_action`);
- `gc`: the cyclic garbage collector.

The wrappers add a little CPU of their own: measure throughput without them, and the
breakdown in a pass of its own.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient


class LayerClock:
    """Exclusive CPU seconds per layer label, summed over threads."""

    def __init__(self, clock: Callable[[], float] = time.thread_time) -> None:
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self._counting = True

    def _stack(self) -> list[list[Any]]:
        stack: list[list[Any]] | None = getattr(self._local, "stack", None)
        if stack is None:
            # A thread's time before its first layer is nobody's: it stays in the remainder.
            stack = self._local.stack = [[None, self._clock()]]
        return stack

    def _charge(self, label: str | None, seconds: float) -> None:
        if label is not None and self._counting:
            with self._lock:
                self.seconds[label] = self.seconds.get(label, 0.0) + seconds

    def enter(self, label: str) -> None:
        stack = self._stack()
        now = self._clock()
        interrupted = stack[-1]
        self._charge(interrupted[0], now - interrupted[1])
        stack.append([label, now])

    def leave(self) -> None:
        stack = self._stack()
        now = self._clock()
        label, since = stack.pop()
        self._charge(label, now - since)
        stack[-1][1] = now  # the interrupted layer resumes now

    def wrap(self, owner: Any, name: str, label: Callable[..., str]) -> Callable[[], None]:
        """Charge `owner.name`'s calls to `label(*args)`; returns what puts the original back."""
        original = owner.__dict__[name]

        @functools.wraps(original)
        def layered(*args: Any, **kwargs: Any) -> Any:
            self.enter(label(*args, **kwargs))
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, name, layered)
        return lambda: setattr(owner, name, original)

    @contextmanager
    def window(self) -> Iterator[None]:
        """Count only while the block runs (a cloud's start and stop are not what is measured)."""
        with self._lock:
            self.seconds.clear()
            self._counting = True
        try:
            yield
        finally:
            with self._lock:
                self._counting = False

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.enter("gc")
        else:
            self.leave()

    @contextmanager
    def watching_gc(self) -> Iterator[None]:
        gc.callbacks.append(self._on_gc)
        try:
            yield
        finally:
            gc.callbacks.remove(self._on_gc)


def _function_label(runtime: Any, function: Any, event: Any) -> str:
    return f"handler:{function.handler.rpartition('.')[0].rpartition('.')[2]}"


def _request_label(client: BaseClient, operation: str, params: Any) -> str:
    return f"request:{client.meta.service_model.service_name}"


_SERVICE_OF_MOTO_PACKAGE = {"awslambda": "lambda"}
"""moto's package names that are not botocore's service names."""


def _emulation_label(response: Any) -> str:
    package = type(response).__module__.split(".")[1]
    return f"emulation:{_SERVICE_OF_MOTO_PACKAGE.get(package, package)}"


@contextmanager
def measured(clock: LayerClock) -> Iterator[LayerClock]:
    """Charge the local cloud's layers to `clock` while the block runs."""
    from botocore.client import BaseClient
    from moto.core.responses import BaseResponse

    from localcloud.runtime import InProcessRuntime

    restore = [
        clock.wrap(InProcessRuntime, "invoke", _function_label),
        clock.wrap(BaseClient, "_make_api_call", _request_label),
        clock.wrap(BaseResponse, "call_action", _emulation_label),
    ]
    try:
        with clock.watching_gc():
            yield clock
    finally:
        for put_back in reversed(restore):
            put_back()


def breakdown(seconds: Mapping[str, float], total_ms: float, units: int) -> dict[str, Any]:
    """Milliseconds per unit (saga or execution) by layer kind, and what of the process's
    `total_ms` per unit no layer claimed."""

    def per_unit(value: float) -> float:
        return round(1000 * value / units, 1)

    kinds: dict[str, dict[str, float]] = {"handler": {}, "request": {}, "emulation": {}}
    for label, value in seconds.items():
        kind, _, name = label.partition(":")
        if kind in kinds:
            kinds[kind][name] = kinds[kind].get(name, 0.0) + value
    claimed = sum(seconds.values())
    return {
        "total": total_ms,
        "handler_code": per_unit(sum(kinds["handler"].values())),
        "requests": {name: per_unit(v) for name, v in sorted(kinds["request"].items(), key=lambda kv: -kv[1])},
        "emulation": {name: per_unit(v) for name, v in sorted(kinds["emulation"].items(), key=lambda kv: -kv[1])},
        "gc": per_unit(seconds.get("gc", 0.0)),
        "engine_and_other": round(max(0.0, total_ms - 1000 * claimed / units), 1),
    }


def ratio_if_free(saga: dict[str, Any], floor: dict[str, Any], services: frozenset[str] | None) -> float:
    """The floor's CPU per execution over the saga's, were `services` (None: every one) free of
    charge in both: their requests and their emulation taken out, all else as measured. The
    garbage their objects cause stays charged, so the ratio could move a little further."""

    def cost(side: dict[str, Any]) -> float:
        charged = [*side["requests"].items(), *side["emulation"].items()]
        return float(sum(ms for name, ms in charged if services is None or name in services))

    return round(float((floor["total"] - cost(floor)) / (saga["total"] - cost(saga))), 2)
