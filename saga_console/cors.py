"""A browser's calls from another origin: the ones an allowed origin may make, and those a page makes unannounced.

CORS answers a preflight and marks an answer readable for an origin named with `--allow-origin`
(as LocalStack's CORS handlers do for theirs); Fetch Metadata (`Sec-Fetch-*`) tells a request a
page of another site made without an `Origin` (an image, a script, a frame, a no-cors fetch)
from a link the person followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

CORS_EXPOSED = "x-amzn-requestid, x-amzn-errortype, x-amz-request-id, x-amz-id-2, etag, x-amz-version-id"
"""What a page of an allowed origin may read of an answer besides the basics: what the SDKs read."""
CORS_MAX_AGE_SECONDS = 600


def same_origin(origin: str | None, host: str, scheme: str = "http") -> bool:
    """Whether `origin` (a browser's `Origin`) is the one the request was sent to: scheme://Host.
    A missing or `null` Origin is not."""
    return origin is not None and origin.rstrip("/").lower() == f"{scheme}://{host.strip().lower()}"


def cross_origin(environ: dict[str, Any], host: str) -> str | None:
    """The `Origin` of a call a browser makes from another origin, one `origin_allowed` let through by now."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is None or same_origin(origin, host):
        return None  # no browser's cross-origin call, or a same-origin one: no CORS to answer
    return str(origin)


def preflight(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ


def allow_preflight(environ: dict[str, Any], start_response: Callable[..., Any], origin: str) -> Iterable[bytes]:
    """Tell the browser that this allowed origin may send the call it asks about (as LocalStack's CORS answers)."""
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE, PATCH"),
        ("Access-Control-Allow-Headers", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")),
        ("Access-Control-Max-Age", str(CORS_MAX_AGE_SECONDS)),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]
    if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
        headers.append(("Access-Control-Allow-Private-Network", "true"))
    start_response("204 No Content", headers)
    return [b""]


def with_cors(start_response: Callable[..., Any], origin: str | None) -> Callable[..., Any]:
    """`start_response` that lets the allowed `origin` read the answer, and no one else (moto's own CORS
    headers, which allow any origin, are replaced)."""
    if origin is None:
        return start_response

    def allowing(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
        kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
        cors = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", CORS_EXPOSED),
            ("Vary", "Origin"),
        ]
        return start_response(status, kept + cors, exc_info)  # type: ignore[no-any-return]  # WSGI's start_response is untyped

    return allowing


def from_another_site(environ: dict[str, Any]) -> bool:
    """What a browser says of a request it sends for a page of another origin (Fetch Metadata: `Sec-Fetch-Site`
    is `same-site` for another port of the same host, `cross-site` for another host; `same-origin` or `none`,
    typed or bookmarked, otherwise; absent from clients that are no browser)."""
    return environ.get("HTTP_SEC_FETCH_SITE") in ("cross-site", "same-site")


def top_level_navigation(environ: dict[str, Any]) -> bool:
    """A link followed in the browser's own window: the person sees the answer, the page that linked does not."""
    return (
        environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        and environ.get("HTTP_SEC_FETCH_MODE") == "navigate"
        and environ.get("HTTP_SEC_FETCH_DEST") == "document"
    )


def origin_of(referer: str) -> str:
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}"
