"""Every action's confirmation page, and what its POST must carry: a fresh single-use token, the console's origin.

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

from flask import abort, current_app, make_response, render_template, request, url_for
from werkzeug.wrappers import Response

from saga_console import cors, page_headers

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


# --- the confirmation page and the check of its POST (every action: resume, redrive, a saga's requests) ---


@dataclass(frozen=True)
class Field:
    """A text field the operator fills on a confirmation page (a pharmacist's id, a reason)."""

    name: str
    label: str
    value: str = ""
    required: bool = True


def check_action() -> None:
    """Refuse an action's POST unless allowed here, sent by the console's own page, and confirmed once."""
    if not current_app.config["ACTIONS_ALLOWED"]:
        abort(403, "actions are refused: this console is not bound to loopback (start it with --allow-actions)")
    if not cors.same_origin(request.headers.get("Origin"), request.host, request.scheme):
        abort(403, "refused: actions are accepted only from a confirmation page of this console (its Origin)")
    token = request.form.get("token")
    if not token or request.form.get("confirm") != "yes":
        abort(400, "not confirmed: use the confirmation page")
    this_action = url_for(str(request.endpoint), **(request.view_args or {}))
    if not _tokens().spend(token, this_action):
        abort(403, "refused: this confirmation was used, has expired or is for another action; confirm again")


def _tokens() -> ActionTokens:
    tokens: ActionTokens = current_app.config["ACTION_TOKENS"]
    return tokens


def confirm_page(
    title: str,
    action: str,
    question: str,
    cancel: str,
    *,
    fields: tuple[Field, ...] = (),
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The one confirmation page of every action: its question, the fields it asks for, a fresh token for it."""
    allowed = current_app.config["ACTIONS_ALLOWED"]
    # A page of another site that opens this one (a link, a frame the CSP then hides) gets no token:
    # it could not use one, but each would push the operator's own out of the bounded store.
    from_here = request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    page = render_template(
        "confirm.html",
        title=title,
        action=action,
        question=question,
        cancel=cancel,
        fields=fields,
        error=error,
        token=_tokens().issue(action) if allowed and from_here else None,
        allowed=allowed,
        from_here=from_here,
    )
    response = make_response(page, status)
    response.headers["Referrer-Policy"] = page_headers.FORM_REFERRER_POLICY
    return response
