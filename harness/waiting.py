"""Waiting for sagas: the harness's one polling loop, and the saga waits built on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from harness.errors import HarnessError
from lambdas.domain.projection import SagaView
from lambdas.domain.states import PARKED_STATES, TERMINAL_STATES

if TYPE_CHECKING:
    from harness.target import Target

T = TypeVar("T")

SETTLED_STATES = frozenset(s.value for s in TERMINAL_STATES | PARKED_STATES)
"""States a saga stays in until an operator acts: waiting for sagas ends there."""

STATE_READS_PER_SECOND = 100
"""How many saga states a wait reads per second, however many it awaits: waiting for thousands
must not crowd out the sagas themselves (on the local cloud they share the process)."""
PAUSE_MAX_SECONDS = 10.0


class SagaTimeout(HarnessError, TimeoutError):
    pass


def poll(
    check: Callable[[], T | None],
    timeout: float,
    pause: Callable[[], float] = lambda: 0.05,
) -> T | None:
    """Call `check` until it returns something other than None, or `timeout` passes (None then).

    `check` runs at least once; between calls the loop sleeps `pause()`, never past the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(min(pause(), max(0.0, deadline - time.monotonic())))


def settle(
    target: Target,
    order_ids: Iterable[str],
    timeout: float,
    on_settled: Callable[[list[SagaView]], None] = lambda views: None,
) -> tuple[dict[str, SagaView], list[str]]:
    """Until every saga is terminal or parked, or `timeout` passes: (settled views, unsettled ids).

    Each pass reads only the states of the sagas still pending (100 per BatchGetItem) and the
    whole row of each saga once, when it settles; the pause grows with the number pending (a
    second per hundred, `PAUSE_MAX_SECONDS` at most). A saga's end time comes from its row,
    not from when the wait noticed it.
    """
    projection = target.projection()
    pending = list(dict.fromkeys(order_ids))
    settled: dict[str, SagaView] = {}

    def check() -> bool | None:
        nonlocal pending
        states = projection.states(pending)
        views = projection.get_many(o for o in pending if states.get(o) in SETTLED_STATES)
        now_settled = [v for v in views.values() if v.state.value in SETTLED_STATES]
        if now_settled:
            settled.update((v.order_id, v) for v in now_settled)
            on_settled(now_settled)
            pending = [o for o in pending if o not in settled]
        return True if not pending else None

    poll(check, timeout, pause=lambda: min(PAUSE_MAX_SECONDS, 0.01 + len(pending) / STATE_READS_PER_SECOND))
    return settled, pending


def wait_for_sagas(target: Target, order_ids: Iterable[str], timeout: float = 30.0) -> dict[str, str]:
    """Each saga's settled state (its value, as the projection shows it); SagaTimeout if one is not settled."""
    views, pending = target.settle(order_ids, timeout)
    if pending:
        raise SagaTimeout(f"sagas not settled after {timeout} s at {target.where}: {sorted(pending)[:10]}")
    return {order_id: view.state.value for order_id, view in views.items()}
