"""An independent pharmacy over HTTP, on the standard library alone: docs/pharmacy-api.yaml's six operations.

Bearer auth, `Idempotency-Key` replays, refusals with a JSON reason and cancels remembered before their
create, from the contract alone. Two things a test needs besides: a knob (`unavailable_times`: answer
`503` that many times per key before serving it) and the log of every request it saw.
"""

from __future__ import annotations

import hmac
import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.independent_pharmacy import shapes
from tests.independent_pharmacy.books import Answer, Books, Kind, cancelled_first
from tests.independent_pharmacy.shapes import ContractError

MAX_BODY_BYTES = 64 * 1024
"""Far above the largest request the contract allows (25 lines, one address)."""
FINAL = frozenset({200, 201, 409, 422})
"""The answers a repeated key gets again; any other is not remembered (the YAML's list of final answers)."""

ROUTE = re.compile(r"/(?P<collection>prescriptions|reservations|shipments)/(?P<id>[^/]+)(?P<action>/cancel|/release)?")
OPERATIONS: dict[tuple[str, str], tuple[str, str, Kind]] = {
    ("prescriptions", ""): ("PUT", "createPrescription", "prescription"),
    ("prescriptions", "/cancel"): ("POST", "cancelPrescription", "prescription"),
    ("reservations", ""): ("PUT", "reserveInventory", "reservation"),
    ("reservations", "/release"): ("POST", "releaseInventory", "reservation"),
    ("shipments", ""): ("PUT", "createShipment", "shipment"),
    ("shipments", "/cancel"): ("POST", "cancelShipment", "shipment"),
}
"""(collection, action) -> (method, operationId, resource kind)."""


@dataclass(frozen=True)
class Seen:
    """One request as this server saw it, and what it answered."""

    method: str
    path: str
    idempotency_key: str | None
    status: int


@dataclass(frozen=True)
class Remembered:
    request: tuple[str, str, str]
    """(operationId, resource id, the body's canonical JSON): what makes a repeated key the same request."""
    status: int
    body: dict[str, Any]


@dataclass(repr=False)
class Pharmacy:
    """The server's state: its books, the keys it answered, the knob, and what it saw."""

    token: str
    base_path: str = ""
    """Where the API lives on this host (`pharmacy_api_url`'s path): `/api` serves `/api/prescriptions/...`."""
    unavailable_times: int = 0
    books: Books = field(default_factory=Books)
    seen: list[Seen] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    """Exceptions the handler met (answered 500): a test asserts there were none."""
    hung_up: int = 0
    """Connections the client closed first: an answer written after its timeout, or an idle keep-alive."""
    _answered: dict[str, Remembered] = field(default_factory=dict)
    _unavailable: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __repr__(self) -> str:  # not the token, nor the patients its books hold
        return f"Pharmacy(base_path={self.base_path!r}, holding {len(self.books.held)}, seen {len(self.seen)})"

    def reset(self) -> None:
        """Books as opened, no key remembered, nothing seen, the knob off."""
        with self._lock:
            self.unavailable_times = 0
            self.books, self._answered, self._unavailable, self.hung_up = Books(), {}, {}, 0
            self.seen.clear()
            self.errors.clear()

    def answer(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, extra headers) for one request; recorded in `seen`."""
        key = headers.get("Idempotency-Key")
        path = urlsplit(target).path
        # outside the base path nothing is this API's: an empty remainder matches no route (404)
        inside = path[len(self.base_path) :] if path.startswith(f"{self.base_path}/") else ""
        status, payload, extra = self._answer(method, inside, headers, key, body)
        with self._lock:
            self.seen.append(Seen(method, target, key, status))
        return status, payload, extra

    def unreadable(self, method: str, target: str, headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        """A body that cannot be read (chunked, too large, no valid length): a contract error, recorded."""
        if not self._authorized(headers.get("Authorization")):
            answer = 401, {"reason": "a valid bearer token is required"}, {"WWW-Authenticate": "Bearer"}
        else:
            answer = 400, {"reason": f"send a body of at most {MAX_BODY_BYTES} bytes with a Content-Length"}, {}
        with self._lock:
            self.seen.append(Seen(method, target, headers.get("Idempotency-Key"), answer[0]))
        return answer

    def _answer(
        self, method: str, path: str, headers: Any, key: str | None, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not self._authorized(headers.get("Authorization")):
            return 401, {"reason": "a valid bearer token is required"}, {"WWW-Authenticate": "Bearer"}
        route = ROUTE.fullmatch(path)
        if route is None or (route["collection"], route["action"] or "") not in OPERATIONS:
            return 404, {"reason": "no such resource in this API"}, {}
        wanted, operation, kind = OPERATIONS[(route["collection"], route["action"] or "")]
        if method != wanted:
            return 405, {"reason": f"this resource takes {wanted}"}, {"Allow": wanted}
        try:
            if key is None or not shapes.IDEMPOTENCY_KEY.fullmatch(key):
                raise ContractError("an Idempotency-Key header matching the contract's pattern is required")
            if not shapes.RESOURCE_ID.fullmatch(route["id"]):
                raise ContractError("the resource id does not match its pattern")
            with self._lock:
                if self._unavailable.get(key, 0) < self.unavailable_times:
                    self._unavailable[key] = self._unavailable.get(key, 0) + 1
                    return 503, {"reason": "unavailable for now, retry with the same key"}, {}
            work = self._work(operation, kind, route["id"], body)
        except ContractError as wrong:
            return 400, {"reason": str(wrong)}, {}
        with self._lock:
            return self._once(key, work)

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, credentials = (authorization or "").partition(" ")
        # RFC 7235: the scheme is case-insensitive; the token is compared in constant time
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), self.token.encode())

    def _work(self, operation: str, kind: Kind, resource_id: str, body: bytes) -> _Work:
        """The request checked against its shape (ContractError otherwise), and what doing it takes."""
        if operation.startswith(("cancel", "release")):
            # no requestBody in the contract: whatever came is not part of the request's identity
            return _Work((operation, resource_id, ""), kind, lambda: self.books.cancel(kind, resource_id))
        request = shapes.parse_json(body)
        books = self.books
        do: Callable[[], Answer]
        if kind == "prescription":
            order, patient, lines = shapes.prescription_request(request, resource_id)
            do = lambda: books.create_prescription(resource_id, order, patient, lines)  # noqa: E731
        elif kind == "reservation":
            order, lines = shapes.reservation_request(request, resource_id)
            do = lambda: books.reserve_inventory(resource_id, order, lines)  # noqa: E731
        else:
            order, patient, address = shapes.shipment_request(request, resource_id)
            do = lambda: books.create_shipment(resource_id, order, patient, address)  # noqa: E731
        return _Work((operation, resource_id, json.dumps(request, sort_keys=True)), kind, do)

    def _once(self, key: str, work: _Work) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The work done once per key: a repeated key gets its first final answer again, marked replayed."""
        first = self._answered.get(key)
        if first is None:
            status, payload = work.do()
            if status in FINAL:
                self._answered[key] = Remembered(work.request, status, payload)
            return status, payload, {}
        if first.request != work.request:
            # coded apart from a refusal: the key's first request may have done the work, the client undoes it
            reason = "this Idempotency-Key was used for a different request"
            return 422, {"reason": reason, "code": "idempotency_key_reused"}, {}
        creates = not work.request[0].startswith(("cancel", "release"))
        if creates and first.status in (200, 201) and self.books.is_undone(work.request[1]):
            # the YAML's one exception: a replayed 2xx would say a cancelled resource is active
            status, payload = cancelled_first(work.kind)
            return status, payload, {}
        return first.status, dict(first.body), {"Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class _Work:
    request: tuple[str, str, str]
    kind: Kind
    do: Callable[[], Answer]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server: _Server

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        pharmacy = self.server.pharmacy
        extra: dict[str, str] = {}
        try:
            body = self._body()
            if body is None:
                self.close_connection = True  # what is left of the body cannot be told from the next request
                status, payload, extra = pharmacy.unreadable(self.command, self.path, self.headers)
            else:
                status, payload, extra = pharmacy.answer(self.command, self.path, self.headers, body)
        except Exception as error:  # kept for the test to see, and answered as the server error it is
            pharmacy.errors.append(error)
            status, payload = 500, {"reason": "internal error"}
            self.close_connection = True
        encoded = json.dumps(payload).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)

    def _body(self) -> bytes | None:
        """The request's body (b"" when none is announced); None when it is chunked, malformed or too large."""
        if "Transfer-Encoding" in self.headers:
            return None
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return None
        return self.rfile.read(int(length))

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a request line names an order, and this server has nothing to tell an operator."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pharmacy: Pharmacy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pharmacy = pharmacy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (it timed out, or closed an idle connection) is counted; anything else is kept."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            with self.pharmacy._lock:
                self.pharmacy.hung_up += 1
        elif isinstance(error, Exception):
            self.pharmacy.errors.append(error)


@dataclass
class Served:
    """The pharmacy served on 127.0.0.1 until `stop`."""

    pharmacy: Pharmacy
    url: str
    _server: _Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def serve(token: str, base_path: str = "") -> Served:
    """The independent pharmacy on a free port of 127.0.0.1 under `base_path`, taking `token` as its bearer token."""
    pharmacy = Pharmacy(token, base_path.rstrip("/"))
    server = _Server(pharmacy)
    thread = threading.Thread(target=server.serve_forever, name="independent-pharmacy", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return Served(pharmacy, f"http://{host!s}:{port}{pharmacy.base_path}", server, thread)
