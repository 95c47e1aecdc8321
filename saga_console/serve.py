"""Serving the console: alone (`saga console`) or beside another WSGI app on one port (`saga local up`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from socketserver import BaseServer
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from harness.target import Target
from saga_console.app import create_app
from saga_console.following import FollowedTarget, follow
from saga_console.guard import Exposure, Guard

PREFIX = "/console"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def beside(console: WSGIApp, other: WSGIApp) -> WSGIApp:
    """One app: /console/… to the console, everything else (the AWS APIs) to `other`."""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        app = console if path == PREFIX or path.startswith(PREFIX + "/") else other
        return app(environ, start_response)

    return dispatch


def console_server(
    target: Target,
    host: str,
    port: int,
    *,
    allow_actions: bool = False,
    origins: tuple[str, ...] = (),
    token: str | None = None,
) -> BaseWSGIServer:
    """A threaded server of the console alone (port 0: any free port), behind the guard of its exposure
    (saga_console/guard.py: Host, Origin, and off loopback `token`). It outlives its target's endpoint:
    a plain page while that does not answer, the stack's outputs read again after (saga_console/following.py)."""
    app = follow(create_app(FollowedTarget(target), host=host, allow_actions=allow_actions))
    server = make_server(host, port, app, threaded=True)
    server.app = Guard(app, Exposure(host, server.port, origins, token))  # the port it was bound to
    return server


@contextmanager
def running(server: BaseServer) -> Iterator[None]:
    """`server` answering in a thread until the block ends; then stopped and closed, however it ends."""
    thread = threading.Thread(target=server.serve_forever, name="saga-console", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def url_of(server: BaseWSGIServer) -> str:
    return f"http://{server.host}:{server.port}{PREFIX}/"
