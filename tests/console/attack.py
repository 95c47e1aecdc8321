"""A hostile web site for the browser tests: pages of another origin (another loopback port) that a test sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from saga_console.serve import running


class AttackSite:
    """Pages of another origin (127.0.0.1, another port), set by the test: what a hostile web page would serve."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.origin = f"http://127.0.0.1:{self._server.port}"

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = self.pages.get(request.path)
        response = Response(body or "not here", status=200 if body else 404, content_type="text/html")
        return response(environ, start_response)

    def serve(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def __enter__(self) -> AttackSite:
        self._running = running(self._server)
        self._running.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._running.__exit__(*exc)
