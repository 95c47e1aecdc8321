"""Running the same action on many threads at once, for race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def at_once(count: int, action: Callable[[int], T]) -> list[T]:
    """Call action(0) ... action(count - 1) on `count` threads released together; their results in order.

    An exception an action did not expect is raised here, not lost in its thread.
    """
    start = threading.Barrier(count)

    def run(n: int) -> T:
        start.wait()
        return action(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))
