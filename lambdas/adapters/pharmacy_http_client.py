"""One call to the pharmacy's API (docs/pharmacy-api.yaml) and what its answer means to the saga.

Retries live in the state machine, not here: `PharmacyUnavailable` is one of the names its
`Retry` clause matches (lambdas/domain/errors.py, TRANSIENT_ERRORS), so every attempt, its
error and its backoff with jitter show in the execution history and the console, and one
budget (attempts, task timeout) bounds a step whatever the pharmacy does. A `Retry-After` is
information: the error carries it, and the call waits it out here only up to
`RETRY_AFTER_CAP_SECONDS` (a short pause on top of the state machine's own backoff; a longer
one would bill a Lambda for waiting). Each call has bounded connect and read timeouts and
reuses a connection pool that lives as long as the execution environment.

Nothing the pharmacy sends and nothing about the patient reaches a log line or an error
message: a reason is untrusted text (kept for the saga's record only), and a line names the
operation, the status and the resource id (the saga's own id, made from the order id).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from lambdas.adapters.pharmacy_calls import Call, system_of
from lambdas.contract import SERVICE
from lambdas.domain.errors import PharmacyContractError, PharmacyUnavailable

if TYPE_CHECKING:
    import urllib3

logger = Logger(service=SERVICE, child=True)
"""The handlers' Powertools logger (lambdas/observability.py) by its child: the same JSON lines, with the
invocation's keys (correlation id, function, request id), rather than the runtime's plain text."""

RETRY_AFTER_CAP_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 3.05
READ_TIMEOUT_SECONDS = 10.0
"""Per read of the socket."""
ANSWER_DEADLINE_SECONDS = 20.0
"""The whole call, however slowly an answer trickles in: inside the function's 30 s timeout
(infra/functions.py FUNCTION_TIMEOUT), so a slow pharmacy is a retried PharmacyUnavailable rather than a
Lambda timeout, which is not retried as transient."""
MAX_ANSWER_BYTES = 64 * 1024
"""Far above any answer the contract describes; more is not read."""
RESOURCE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
"""The contract's ResourceId: what may go into a path (no `/`, `.`, `?`, `%`, nothing to escape)."""
TRANSIENT_STATUSES = frozenset({408, 429})
UNAUTHORIZED = 401


@dataclass(frozen=True)
class Answer:
    status: int
    body: Mapping[str, Any]
    replayed: bool
    call: Call
    empty: bool = False
    """No body at all (read as `{}`)."""


def idempotency_key(operation_id: str, resource_id: str) -> str:
    """One key per (order, operation): the resource id is made from the order id (rules.*_id), so
    the key is the same on every retry, redelivery, resume and replay, and differs per operation."""
    return f"{operation_id}:{resource_id}"


def retry_after_seconds(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """`Retry-After` in seconds from now (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); None if unreadable."""
    if not value:
        return None
    import email.utils

    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit also takes '²' and other digits float() refuses
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now()).total_seconds())


@cache
def shared_pool() -> urllib3.PoolManager:
    """One pool per process, so one per execution environment: its connections outlive an invocation."""
    import urllib3  # on first use, as botocore does: the handlers' import time stays within its budget

    return urllib3.PoolManager(maxsize=10, retries=False)


def _unobserved(call: Call) -> None:
    return None


class PharmacyClient:
    """Sends the contract's requests with a bearer token from `token` (called on every request, so
    a rotated secret is picked up as soon as the caller's cache lets it; on a 401, `fresh_token`
    reads it anew and the request is sent once more if the token changed). Each call, answered or
    not, is told to `observe` (one invocation's record of its calls: see `observed_by`)."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        fresh_token: Callable[[], str] | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        import urllib3

        self._base = base_url.rstrip("/")
        self.system = system_of(base_url)
        self._token = token
        self._fresh_token = fresh_token
        self._observe: Callable[[Call], None] = _unobserved
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._sleep = sleep
        self._pool = pool or shared_pool()

    def observed_by(self, observe: Callable[[Call], None]) -> PharmacyClient:
        """This client (its pool and token) telling one invocation's `observe` of each call: the
        client lives as long as the execution environment, the record as long as the invocation."""
        clone = copy.copy(self)
        clone._observe = observe
        return clone

    def send(self, operation_id: str, method: str, path: str, resource_id: str, body: Any = None) -> Answer:
        """Send once (twice after a 401 with a rotated token); an answer the saga reads (2xx, 404, 409,
        422), else PharmacyUnavailable (408, 429, 5xx, no answer) or PharmacyContractError (anything else)."""
        if not RESOURCE_ID.fullmatch(resource_id):
            # Made from a validated order id; checked again before it becomes part of a URL.
            raise PharmacyContractError(f"{operation_id}: a resource id outside the contract's pattern")
        token = self._token()
        answer = self._send(operation_id, method, path, resource_id, body, token)
        if answer is None and self._fresh_token is not None and (rotated := self._fresh_token()) != token:
            answer = self._send(operation_id, method, path, resource_id, body, rotated)
        if answer is None:
            raise PharmacyContractError(str(Call(operation_id, self.system, UNAUTHORIZED)))
        return answer

    def _send(
        self, operation_id: str, method: str, path: str, resource_id: str, body: Any, token: str
    ) -> Answer | None:
        """One request; None when it was answered 401 (the caller may try a rotated token)."""
        from urllib3.exceptions import HTTPError

        headers = {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": idempotency_key(operation_id, resource_id),
            "Accept": "application/json",
        }
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._pool.request(
                method,
                self._base + path,
                body=payload,
                headers=headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
            raw = _read_bounded(response, time.monotonic() + ANSWER_DEADLINE_SECONDS)
        except (ValueError, UnicodeError):
            # A header http.client will not send: its message would quote the header (the token).
            raise PharmacyContractError(f"{operation_id}: the request could not be written (a header)") from None
        except (HTTPError, AnswerTooSlow) as error:
            # A refused or dropped connection, or a timeout: the request may or may not have been done.
            silent = Call(operation_id, self.system, None, type(error).__name__)
            self._observe(silent)
            logger.warning("%s for %s", silent, resource_id)
            raise PharmacyUnavailable(str(silent)) from None
        call = Call(operation_id, self.system, response.status)
        self._observe(call)
        status = response.status
        logger.info("%s for %s", call, resource_id)
        if status in TRANSIENT_STATUSES or 500 <= status <= 599:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait:
                self._sleep(min(wait, RETRY_AFTER_CAP_SECONDS))
            after = f", retry after {wait:.0f}s" if wait is not None else ""
            raise PharmacyUnavailable(f"{call}{after}", retry_after_seconds=wait)
        if status == UNAUTHORIZED:
            return None
        if not (200 <= status <= 299 or status in (404, 409, 422)):
            raise PharmacyContractError(str(call))
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return Answer(status, _json_object(raw, call), replayed, call, empty=not raw.strip())


class AnswerTooSlow(Exception):
    """The answer did not arrive whole by ANSWER_DEADLINE_SECONDS."""


def _read_bounded(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """At most MAX_ANSWER_BYTES + 1 bytes, by `deadline` (time.monotonic); the connection goes back to the
    pool only after a whole answer."""
    whole, chunks, size = False, [], 0
    try:
        while size <= MAX_ANSWER_BYTES:
            if time.monotonic() > deadline:
                raise AnswerTooSlow
            chunk = response.read(16 * 1024, decode_content=True)
            if not chunk:
                whole = True
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        if whole:
            response.release_conn()
        else:  # unread bytes are left on it: a later request must not read them as its answer
            response.close()


def _json_object(raw: bytes, call: Call) -> Mapping[str, Any]:
    if len(raw) > MAX_ANSWER_BYTES:
        raise PharmacyContractError(f"{call} with an answer over {MAX_ANSWER_BYTES} bytes")
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        raise PharmacyContractError(f"{call} with an answer that is not JSON") from None
    if not isinstance(found, dict):
        raise PharmacyContractError(f"{call} with an answer that is not a JSON object")
    return found
