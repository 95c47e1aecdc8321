"""Serve the reference pharmacy in a thread on 127.0.0.1, for tests and for `saga local up`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pharmacy_reference.app import Traffic, create_app
from pharmacy_reference.faults import FaultPlan, Faults
from pharmacy_reference.service import Pharmacy


class _QuietHandler(WSGIRequestHandler):
    """No request lines in the log: a path names an order, and a malformed request line is the client's text."""

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


@dataclass
class Served:
    """A running reference pharmacy: where it answers, and its parts for a test to read or steer."""

    url: str
    pharmacy: Pharmacy
    plan: FaultPlan
    traffic: Traffic
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.traffic.release_held()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve(token: str, faults: Faults | None = None, pharmacy: Pharmacy | None = None, port: int = 0) -> Served:
    """Start serving on 127.0.0.1 (`port` 0: a free one) and return at once; `stop()` ends it."""
    pharmacy = pharmacy or Pharmacy()
    plan, traffic = FaultPlan(faults or Faults()), Traffic()
    server = make_server(
        "127.0.0.1", port, create_app(pharmacy, token, plan, traffic), threaded=True, request_handler=_QuietHandler
    )
    # A short poll interval: stop() waits for the serving loop's next look at its shutdown flag.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="pharmacy-reference", daemon=True)
    thread.start()
    return Served(f"http://127.0.0.1:{server.server_port}", pharmacy, plan, traffic, server, thread)
