"""Who may reach a local listener: the Host and Origin a request names and, from off this machine, its credential.

`saga local up` (the AWS endpoint and the console on one port) and `saga console` hold health data
on a laptop. A browser lets any page it shows send requests to loopback, so:
- a request whose `Host` is not a loopback name, an address literal this listener may be reached
  at, or the name it was bound to is refused: a DNS-rebinding page names its own domain;
- a request that a browser marks with a foreign `Origin` (or, to the AWS APIs, a foreign
  `Referer`) is refused before anything runs, as LocalStack's CORS enforcer does (its allow-list
  holds its own localhost origins and those named in EXTRA_CORS_ALLOWED_ORIGINS): only this
  listener's own origins and those named with `--allow-origin` may make cross-origin calls;
- a request a browser sends for a page of another site without an `Origin` (an `<img>`, a
  `<script>`, a frame, a no-cors fetch: `Sec-Fetch-Site` says so) is refused too, but for a link
  followed in the browser's own window;
- bound off loopback, a client on another machine must prove it holds the token the command
  generated and printed once (or that the user gave in SAGA_TOKEN): the console takes it once
  in its URL and keeps it in a strict, HttpOnly cookie; the AWS APIs take it as the secret access
  key of the access key id `SAGALOCALENDPOINT`, and the SigV4 signature is verified, so the token itself
  never crosses the network for an AWS call. A client on this machine needs no token: bound to
  loopback it would need none either; what stops a page in a local browser is Host and Origin.

The browser's side of it (CORS, Fetch Metadata) is `cors`; checking a signature, `signatures`.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from saga_console import cors, page_headers
from saga_console.signatures import ACCESS_KEY_ID, FORBIDDEN, ApiRefusal, refuse_call, signature_refusal

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

TOKEN_VARIABLE = "SAGA_TOKEN"
"""Where a user gives the token instead of letting the command generate one."""
MIN_TOKEN_CHARS = 16
COOKIE = "saga_console_token"
CONSOLE_PREFIX = "/console"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    """A loopback name or address literal (`localhost`, `*.localhost`, 127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True  # RFC 6761: resolved to loopback, never through DNS, by browsers as by this machine
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def new_token() -> str:
    return secrets.token_urlsafe(24)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `[::1]:80` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header[1:]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True)
class Exposure:
    """Where a listener is bound and whom it answers: its own origins, those allowed besides, the token."""

    host: str
    port: int
    origins: tuple[str, ...] = ()
    token: str | None = None
    """Required from clients off this machine; None only on loopback (`needs_token`)."""
    _allowed_origins: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.needs_token and not self.token:
            raise ValueError(f"{self.host} is not loopback: a token is required")
        own = {f"http://{name}:{self.port}" for name in _LOOPBACK_NAMES}
        if not self.on_loopback and not self.wildcard:
            bound = f"[{self.host}]" if ":" in self.host else self.host
            own.add(f"http://{bound.lower()}:{self.port}")
        object.__setattr__(self, "_allowed_origins", frozenset(own | {o.rstrip("/").lower() for o in self.origins}))

    @property
    def on_loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def wildcard(self) -> bool:
        address = _address(self.host)
        return address is not None and address.is_unspecified

    @property
    def needs_token(self) -> bool:
        return not self.on_loopback

    def host_allowed(self, header: str) -> bool:
        """A loopback name; or, bound to all addresses, any address literal (a literal cannot be rebound);
        or the address or name this listener was bound to."""
        name = host_name(header)
        if is_loopback(name) or name == self.host.strip("[]").lower():
            return True
        return self.wildcard and _address(name) is not None

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        """This listener's own origin (the one the request was sent to, or a loopback name of it), or one named."""
        return cors.same_origin(origin, host_header) or origin.rstrip("/").lower() in self._allowed_origins


def parse_origin(value: str) -> str:
    """An origin as `--allow-origin` takes it: scheme://host[:port], nothing after; ValueError otherwise."""
    parts = urlsplit(value.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ValueError(f"--allow-origin takes an origin such as http://localhost:3000, not {value!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def token_for(host: str, given: str | None) -> tuple[str | None, bool]:
    """The token a listener bound to `host` requires, and whether it was generated here (so printed once):
    none on loopback; off loopback the user's (SAGA_TOKEN, at least 16 characters) or a new one."""
    if is_loopback(host):
        return None, False
    if given is None:
        return new_token(), True
    if len(given) < MIN_TOKEN_CHARS:
        raise ValueError(f"{TOKEN_VARIABLE} must be at least {MIN_TOKEN_CHARS} characters")
    return given, False


def exposure_notice(what: str, host: str, port: int, token: str, generated: bool, *, aws: bool) -> list[str]:
    """What a listener bound off loopback tells its user, once: what it exposes, to whom, and how to get in."""
    shown = token if generated else f"${TOKEN_VARIABLE}"
    address = _address(host)
    reached_at = "<this machine's address>" if address is not None and address.is_unspecified else host
    if address is not None and address.version == 6 and not address.is_unspecified:
        reached_at = f"[{host.strip('[]')}]"
    url = f"http://{reached_at}:{port}"
    lines = [
        f"WARNING: {what} is served beyond this machine, at {url}, over plain HTTP.",
        "Anyone who can reach that address and holds the token below can read the sagas, patient ids,",
        "medications and addresses among them" + (", and change the whole local stack." if aws else "."),
        f"  console: {url}/console/?token={shown}",
    ]
    if aws:
        lines.append(f"  AWS clients: AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={shown}")
    lines.append("The token is printed this once." if generated else f"The token is {TOKEN_VARIABLE}'s; not printed.")
    return lines


class Guard:
    """WSGI middleware that refuses what `Exposure` does not allow, before the app behind it sees anything."""

    def __init__(self, app: WSGIApp, exposure: Exposure, *, clock: Callable[[], datetime] | None = None) -> None:
        self.app = app
        self.exposure = exposure
        self._clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        console = _is_console(environ)
        host = environ.get("HTTP_HOST") or ""
        if not self.exposure.host_allowed(host):
            return self._forbidden(environ, start_response, console, "InvalidHost", _HOST_REFUSED)
        origin = environ.get("HTTP_ORIGIN")
        if origin is None and not console and environ.get("HTTP_REFERER"):
            origin = cors.origin_of(environ["HTTP_REFERER"])  # an AWS call no page of ours makes
        if origin is not None and not self.exposure.origin_allowed(origin, host):
            return self._forbidden(environ, start_response, console, "ForbiddenOrigin", _ORIGIN_REFUSED)
        if origin is None and cors.from_another_site(environ) and not cors.top_level_navigation(environ):
            # An <img>, <script>, <iframe> or no-cors fetch of another page: no Origin to judge it by
            return self._forbidden(environ, start_response, console, "ForbiddenOrigin", _ORIGIN_REFUSED)
        allowed_call = None if console else cors.cross_origin(environ, host)  # from an origin named --allow-origin
        if allowed_call is not None and cors.preflight(environ):
            return cors.allow_preflight(environ, start_response, allowed_call)
        if self.exposure.needs_token and not is_loopback(environ.get("REMOTE_ADDR", "")):
            if console:
                return self._console_with_token(environ, start_response)
            refusal = signature_refusal(environ, self.exposure.token or "", self._clock())
            if refusal:
                return refuse_call(environ, cors.with_cors(start_response, allowed_call), refusal)
        return self.app(environ, cors.with_cors(start_response, allowed_call))

    @staticmethod
    def _forbidden(
        environ: dict[str, Any], start_response: Callable[..., Any], console: bool, code: str, message: str
    ) -> Iterable[bytes]:
        if console:
            return _refuse_page(start_response, HTTPStatus.FORBIDDEN, message)
        return refuse_call(environ, start_response, ApiRefusal(FORBIDDEN, code, code, message))

    # --- the console: a token once in the URL, then a cookie ---------------------------------

    def _console_with_token(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        token = self.exposure.token or ""
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        given = dict(query).get("token")
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            # Set the cookie and drop the token from the address bar (and from any later Referer).
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "") + (f"?{rest}" if rest else "")
            cookie = f"{COOKIE}={token}; Path={CONSOLE_PREFIX}; HttpOnly; SameSite=Strict"
            start_response(
                "303 See Other",
                [
                    ("Location", location),
                    ("Set-Cookie", cookie),
                    ("Cache-Control", "no-store"),
                    ("Content-Length", "0"),
                ],
            )
            return [b""]
        cookies = SimpleCookie()
        try:
            cookies.load(environ.get("HTTP_COOKIE", ""))
        except CookieError:  # a malformed Cookie header carries no token
            cookies = SimpleCookie()
        held = cookies[COOKIE].value if COOKIE in cookies else ""
        bearer = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        if any(hmac.compare_digest(v.encode(), token.encode()) for v in (held, bearer) if v):
            return self.app(environ, start_response)
        return _refuse_page(start_response, HTTPStatus.UNAUTHORIZED, _TOKEN_REQUIRED)


def _is_console(environ: dict[str, Any]) -> bool:
    path = environ.get("PATH_INFO", "")
    return bool(path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"))


_HOST_REFUSED = (
    "The Host this request names is not one this listener answers to: reach it by a loopback name "
    "(localhost, 127.0.0.1) or the address it was bound to."
)
_ORIGIN_REFUSED = (
    "Requests from another web origin are refused; name an origin with --allow-origin to let its pages call here."
)
_TOKEN_REQUIRED = (
    "This console is served beyond this machine and needs the token printed when it started: "
    "open the address it printed (…/console/?token=…)."
)


def _refuse_page(start_response: Callable[..., Any], status: HTTPStatus, message: str) -> Iterable[bytes]:
    # A person reads it: what happened (the status's phrase) above why, both our own words
    page = f"<!doctype html><title>Saga console: {status.phrase}</title><h1>{status.phrase}</h1><p>{message}</p>\n"
    body = page.encode()
    start_response(
        f"{status.value} {status.phrase}",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *page_headers.REFUSAL_HEADERS,
        ],
    )
    return [body]
