"""The console followed across restarts of its endpoint: a plain page while it is down, outputs read again after.

A standalone `saga console` outlives the `saga local up` it points at. While that endpoint does
not answer (stopped, or still deploying: its gate answers 503), every page said "Internal Server
Error" and printed a traceback; and the stack's outputs, read once, were kept for good. Here such a
request gets the console's own page saying who does not answer (503, Retry-After), and the
outputs are read again on the next request after any failed one, so the console recovers by
itself when the endpoint is back, whatever it now serves.
"""

from __future__ import annotations

import dataclasses
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from flask import Flask, current_app, render_template
from werkzeug.wrappers import Response

from harness.errors import NotReady
from harness.target import StackTarget, Target

if TYPE_CHECKING:
    from botocore.client import BaseClient

RETRY_AFTER_SECONDS = 2
"""What the page tells a browser or a client to wait: about the console's own live refresh."""

UNREACHABLE = (BotocoreConnectionError, HTTPClientError)
"""botocore's errors for an endpoint that does not answer: refused, reset, timed out."""

GONE = frozenset(
    {
        "ResourceNotFoundException",  # DynamoDB: a table the outputs named
        "AWS.SimpleQueueService.NonExistentQueue",  # SQS (query protocol)
        "QueueDoesNotExist",  # SQS (JSON protocol)
        "StateMachineDoesNotExist",  # Step Functions
    }
)
"""Error codes meaning a resource the outputs named is not there: the stack was deployed anew."""


class FollowedTarget(Target):
    """`target`, with its stack's outputs read again after `forget()` (the console calls it on a failure)."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self.stack = target.stack
        self._lock = threading.Lock()
        self._outputs: dict[str, str] | None = None

    def _client(self, service: str) -> BaseClient:
        return self._target._client(service)

    @property
    def where(self) -> str:
        return self._target.where

    @property
    def outputs(self) -> dict[str, str]:
        with self._lock:
            if self._outputs is None:
                self._outputs = dict(self._target.outputs)
            return self._outputs

    def forget(self) -> None:
        """Read the outputs again on next use; a StackTarget keeps its own for good, so it is replaced."""
        with self._lock:
            self._outputs = None
            if isinstance(self._target, StackTarget):
                self._target = dataclasses.replace(self._target)  # its clients kept, its outputs not


def _page(message: str) -> Response:
    unavailable = HTTPStatus.SERVICE_UNAVAILABLE
    page = Response(render_template("error.html", message=message), unavailable.value, mimetype="text/html")
    page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return page


def _forget() -> str:
    """Forget the outputs (when the console follows them) and say where the stack is, for the page."""
    target: Target = current_app.config["TARGET"]
    if isinstance(target, FollowedTarget):
        target.forget()
    where = target.where
    return f"the local cloud at {where}" if where.startswith(("http://", "https://")) else where


def _unreachable(error: Exception) -> Response:
    where = _forget()
    return _page(f"{where} does not answer. This page works again once it does: reload it then.")


def _not_ready(error: NotReady) -> Response:
    _forget()
    return _page(str(error))


def _refused(error: ClientError) -> Response:
    """A 503 from the endpoint (saga local up deploying or stopping) or a resource the outputs named gone."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = error.response.get("Error", {}).get("Code", "")
    if status != HTTPStatus.SERVICE_UNAVAILABLE and code not in GONE:
        raise error  # any other refusal is no sign of a restart: Flask's own 500, as before
    where = _forget()
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        return _page(f"{where} is not serving the stack yet (503 Service Unavailable): reload in a moment.")
    return _page(
        f"{where} no longer has a resource its stack named ({code}): was it restarted or redeployed? "
        "The console reads the stack again: reload."
    )


def follow(app: Flask) -> Flask:
    """Answer for an endpoint that is down or restarting on `app`'s pages, and read its outputs again after."""
    for unreachable in UNREACHABLE:
        app.register_error_handler(unreachable, _unreachable)
    app.register_error_handler(NotReady, _not_ready)
    app.register_error_handler(ClientError, _refused)
    return app
