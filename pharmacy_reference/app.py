"""The WSGI app: docs/pharmacy-api.yaml's six operations over HTTP, with the fault knobs applied.

Each request is checked in the contract's order (bearer token, Idempotency-Key, resource id,
body), then meets its drawn faults, then the pharmacy. Nothing from a request (body, header,
id) is logged: a line names the operation and the status only.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from pharmacy_reference.bodies import IDEMPOTENCY_KEY, RESOURCE_ID, Body
from pharmacy_reference.faults import FaultPlan
from pharmacy_reference.service import OPERATIONS, Operation, Pharmacy

logger = logging.getLogger(__name__)

ROUTES: Mapping[str, tuple[str, str]] = {
    "createPrescription": ("PUT", "/prescriptions/<resource_id>"),
    "cancelPrescription": ("POST", "/prescriptions/<resource_id>/cancel"),
    "reserveInventory": ("PUT", "/reservations/<resource_id>"),
    "releaseInventory": ("POST", "/reservations/<resource_id>/release"),
    "createShipment": ("PUT", "/shipments/<resource_id>"),
    "cancelShipment": ("POST", "/shipments/<resource_id>/cancel"),
}
"""operationId -> (method, Flask rule): the paths of docs/pharmacy-api.yaml."""

MAX_BODY_BYTES = 64 * 1024
"""Far above the largest body the contract allows (25 lines, an address): more is not read."""


class Traffic:
    """The requests in flight, and the release of the ones held by the timeout knob."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._in_flight = 0
        self._held = 0
        self._release = threading.Event()

    @contextmanager
    def counted(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def hold(self, seconds: float) -> None:
        with self._idle:
            self._held += 1
            self._idle.notify_all()
        self._release.wait(seconds)

    def wait_held(self, count: int, timeout: float) -> bool:
        """Whether `count` requests in all were held (by the timeout knob) within `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._held >= count, timeout)

    def release_held(self) -> None:
        """End every hold now, and skip later ones: the held requests go on to the pharmacy."""
        self._release.set()

    def wait_idle(self, timeout: float) -> bool:
        """Whether every request in flight finished within `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _reason(status: int, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    return _json(status, {"reason": reason}, headers)


def _authorized(token: str) -> bool:
    sent = request.headers.get("Authorization", "")
    scheme, _, credentials = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), token.encode())


def _contract_error(operation: Operation, resource_id: str) -> Response | tuple[str, Body | None]:
    """A 400 for a request outside the contract, else its Idempotency-Key and body."""
    key = request.headers.get("Idempotency-Key", "")
    if not IDEMPOTENCY_KEY.match(key):
        return _reason(400, "the Idempotency-Key header is missing or malformed")
    if not RESOURCE_ID.match(resource_id):
        return _reason(400, "the resource id in the path is malformed")
    if operation.body is None:
        return key, None
    try:
        return key, operation.body.model_validate_json(request.get_data())
    except RequestEntityTooLarge:
        return _reason(400, f"the body is longer than {MAX_BODY_BYTES} bytes")
    except ValidationError:
        return _reason(400, "the body does not match docs/pharmacy-api.yaml")


def _drop_connection() -> None:
    """Close the connection without an answer (the work is done): a response lost on the way."""
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        connection.shutdown(socket.SHUT_RDWR)


def create_app(pharmacy: Pharmacy, token: str, plan: FaultPlan, traffic: Traffic) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    def serve(operation: Operation, resource_id: str) -> Response:
        if not _authorized(token):
            return _reason(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
        checked = _contract_error(operation, resource_id)
        if isinstance(checked, Response):
            return checked
        key, body = checked
        pharmacy.arrived(operation, resource_id, key)
        faults, draw = plan.draw(key)
        time.sleep(faults.latency_seconds)
        if draw.unavailable:
            return _reason(503, "unavailable (fault knob)", {"Retry-After": str(faults.retry_after_seconds)})
        if draw.error:
            return _reason(500, "internal error (fault knob)")
        if draw.hold:
            traffic.hold(faults.hold_seconds)
        outcome = pharmacy.handle(operation, resource_id, key, body)
        if draw.drop:
            _drop_connection()
        replayed = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return _json(outcome.answer.status, outcome.answer.body, replayed)

    for operation_id, (method, rule) in ROUTES.items():
        operation = OPERATIONS[operation_id]

        def view(resource_id: str, operation: Operation = operation) -> Response:
            with traffic.counted():
                response = serve(operation, resource_id)
            logger.info("%s answered %d", operation.operation_id, response.status_code)
            return response

        app.add_url_rule(rule, endpoint=operation_id, view_func=view, methods=[method])

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        # Unknown paths and methods answer in the contract's shape, keeping a 405's Allow header.
        allow = error.get_response().headers.get("Allow")
        return _reason(error.code or 500, error.name, {"Allow": allow} if allow else None)

    return app
