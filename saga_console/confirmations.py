"""What an action's POST must carry: a fresh single-use token of its confirmation page, from the console's own origin.

A token is random, bound to the one action URL its page confirms, expires after a few
minutes and is spent by its first use, whatever the outcome; the store is in memory and
bounded, so a script loading confirmation pages in a loop only ever evicts the oldest ones.
The Origin check (`cors.same_origin`) stops a page of another origin (another port on loopback included) from
posting a form here: browsers send `Origin` on every POST, and the value is not scriptable.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_SECONDS = 300.0
"""Long enough to read a confirmation page and decide; short enough that a token left in a tab goes stale."""
MAX_TOKENS = 256
"""Confirmation pages open at once, across every tab; past it the oldest token is dropped."""


@dataclass(frozen=True)
class _Issued:
    action: str
    expires_at: float


class ActionTokens:
    """Single-use tokens, each for one action URL, kept in memory (one store per console process)."""

    def __init__(
        self,
        *,
        seconds: float = TOKEN_SECONDS,
        capacity: int = MAX_TOKENS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._capacity = capacity
        self._clock = clock
        self._issued: OrderedDict[str, _Issued] = OrderedDict()
        self._lock = threading.Lock()  # the console's server is threaded

    def issue(self, action: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            while len(self._issued) >= self._capacity:
                self._issued.popitem(last=False)
            self._issued[token] = _Issued(action, self._clock() + self._seconds)
        return token

    def spend(self, token: str, action: str) -> bool:
        """True once for a live token issued for `action`; the token is gone afterwards either way."""
        with self._lock:
            issued = self._issued.pop(token, None)
        if issued is None:
            return False
        return issued.action == action and self._clock() < issued.expires_at

    def __len__(self) -> int:
        with self._lock:
            return len(self._issued)

    def _drop_expired(self) -> None:
        now = self._clock()
        for token in [t for t, issued in self._issued.items() if issued.expires_at <= now]:
            del self._issued[token]
