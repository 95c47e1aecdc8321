"""Fault knobs: the ways a real pharmacy misbehaves, on purpose and reproducibly.

Every request draws the same three numbers from one seeded `random.Random`, in arrival order,
so a run with the same seed and the same request order misbehaves the same way.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Faults:
    latency_seconds: float = 0.0
    """Every answer comes this much later (before the work)."""
    error_rate: float = 0.0
    """The share of requests answered 500 before any work is done."""
    timeout_rate: float = 0.0
    """The share of requests held `hold_seconds` (longer than a client waits) and then done: a late arrival."""
    hold_seconds: float = 60.0
    drop_rate: float = 0.0
    """The share of requests whose work is done and whose connection is then closed without an answer."""
    unavailable_first: int = 0
    """Each Idempotency-Key is answered 503 this many times before it is served."""
    retry_after_seconds: int = 0
    """The `Retry-After` of those 503 answers."""
    seed: int = 0


@dataclass(frozen=True)
class Draw:
    """What happens to one request."""

    unavailable: bool = False
    error: bool = False
    hold: bool = False
    drop: bool = False


class FaultPlan:
    """Draws each request's faults; thread-safe."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._unavailable_answers: dict[str, int] = {}
        self._drawn: Counter[str] = Counter()

    @property
    def faults(self) -> Faults:
        return self._faults

    def change(self, faults: Faults) -> None:
        """New knobs from the next request on; the draws go on from the same random sequence."""
        with self._lock:
            self._faults = faults

    def draw(self, key: str) -> tuple[Faults, Draw]:
        """The knobs in force and what they do to this request."""
        with self._lock:
            faults = self._faults
            error, hold, drop = (self._random.random() for _ in range(3))
            answered = self._unavailable_answers.get(key, 0)
            if answered < faults.unavailable_first:
                self._unavailable_answers[key] = answered + 1
                drawn = Draw(unavailable=True)
            else:
                # A 500 is answered before any work: such a request is neither held nor dropped.
                failed = error < faults.error_rate
                drawn = Draw(
                    error=failed,
                    hold=not failed and hold < faults.timeout_rate,
                    drop=not failed and drop < faults.drop_rate,
                )
            self._drawn.update(f.name for f in fields(drawn) if getattr(drawn, f.name))
            return faults, drawn

    def drawn(self) -> dict[str, int]:
        """How many requests met each fault so far (`unavailable`, `error`, `hold`, `drop`; a held
        request may also be dropped): what a chaos run reports as injected."""
        with self._lock:
            return dict(self._drawn)
