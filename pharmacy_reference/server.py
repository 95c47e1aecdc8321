"""Serve the reference pharmacy in a thread on 127.0.0.1, for tests and for `saga local up`."""

from __future__ import annotations

import errno
import socket
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


PREFERRED_PORT = 4590
"""Where the reference pharmacy listens when it can. Its URL is in the synthesized template: on a new port
each time, `saga demo` and `saga local up --pharmacy reference` would synthesize anew on every run (some
10 s, and 15 MB more in cdk.out/local), while on this one an unchanged app reuses its synthesis."""


def port_free(port: int) -> bool:
    """Whether a server can listen on 127.0.0.1:`port` now (bound as the server binds: a connection of an
    earlier run still closing does not hold it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def preferred_port() -> int:
    """PREFERRED_PORT when free, else 0 (any free port: the app is then synthesized anew)."""
    return PREFERRED_PORT if port_free(PREFERRED_PORT) else 0


def serve(token: str, faults: Faults | None = None, pharmacy: Pharmacy | None = None, port: int = 0) -> Served:
    """Start serving on 127.0.0.1 (`port` 0: a free one) and return at once; `stop()` ends it.
    OSError when `port` is taken (werkzeug's server would end the whole process instead)."""
    if port and not port_free(port):
        raise OSError(errno.EADDRINUSE, f"127.0.0.1:{port} is in use")
    pharmacy = pharmacy or Pharmacy()
    plan, traffic = FaultPlan(faults or Faults()), Traffic()
    server = make_server(
        "127.0.0.1", port, create_app(pharmacy, token, plan, traffic), threaded=True, request_handler=_QuietHandler
    )
    # A short poll interval: stop() waits for the serving loop's next look at its shutdown flag.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="pharmacy-reference", daemon=True)
    thread.start()
    return Served(f"http://127.0.0.1:{server.server_port}", pharmacy, plan, traffic, server, thread)
