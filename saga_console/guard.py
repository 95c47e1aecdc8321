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
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from saga_console import page_headers

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

ACCESS_KEY_ID = "SAGALOCALENDPOINT"
"""The access key id whose secret access key is the token (the id names the credential; the token is the secret).
Shaped as AWS shapes them (16 to 128 letters and digits, IAM API reference, AccessKey), so every SDK takes it."""
TOKEN_VARIABLE = "SAGA_TOKEN"
"""Where a user gives the token instead of letting the command generate one."""
MIN_TOKEN_CHARS = 16
COOKIE = "saga_console_token"
CONSOLE_PREFIX = "/console"
SIGNATURE_SKEW = timedelta(minutes=15)
"""How far a signature's time may be from this clock: AWS refuses a request signed more than 15 minutes
away (SigV4 developer guide, "Elements of an AWS API request signature": RequestTimeTooSkewed / Signature expired)."""
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;_.-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


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
        origin = origin.rstrip("/").lower()
        return origin == f"http://{host_header.strip().lower()}" or origin in self._allowed_origins


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


def _origin_of(referer: str) -> str:
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}"


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
            origin = _origin_of(environ["HTTP_REFERER"])  # an AWS call no page of ours makes
        if origin is not None and not self.exposure.origin_allowed(origin, host):
            return self._forbidden(environ, start_response, console, "ForbiddenOrigin", _ORIGIN_REFUSED)
        if origin is None and _from_another_site(environ) and not _top_level_navigation(environ):
            # An <img>, <script>, <iframe> or no-cors fetch of another page: no Origin to judge it by
            return self._forbidden(environ, start_response, console, "ForbiddenOrigin", _ORIGIN_REFUSED)
        allowed_call = None if console else _cross_origin(environ, host)  # from an origin named --allow-origin
        if allowed_call is not None and _preflight(environ):
            return _allow_preflight(environ, start_response, allowed_call)
        if self.exposure.needs_token and not is_loopback(environ.get("REMOTE_ADDR", "")):
            if console:
                return self._console_with_token(environ, start_response)
            refusal = self._signature_refusal(environ)
            if refusal:
                return _refuse_call(environ, _with_cors(start_response, allowed_call), refusal)
        return self.app(environ, _with_cors(start_response, allowed_call))

    @staticmethod
    def _forbidden(
        environ: dict[str, Any], start_response: Callable[..., Any], console: bool, code: str, message: str
    ) -> Iterable[bytes]:
        if console:
            return _refuse_page(start_response, HTTPStatus.FORBIDDEN, message)
        return _refuse_call(environ, start_response, ApiRefusal(FORBIDDEN, code, code, message))

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

    # --- the AWS APIs: SigV4 with the token as the secret -------------------------------------

    def _signature_refusal(self, environ: dict[str, Any]) -> ApiRefusal | None:
        """None when the request is signed as ACCESS_KEY_ID with the token; else AWS's answer to it ("Common
        Errors" of the AWS APIs: MissingAuthenticationToken, IncompleteSignature, InvalidClientTokenId,
        SignatureDoesNotMatch 403; RequestExpired 400, more than 15 minutes off; the JSON protocols' names)."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header:
            if "X-Amz-Signature" in environ.get("QUERY_STRING", ""):
                return ApiRefusal(FORBIDDEN, "AccessDeniedException", "AccessDenied", _PRESIGNED)
            return ApiRefusal(FORBIDDEN, "MissingAuthenticationTokenException", "MissingAuthenticationToken", _MISSING)
        match = _SIGV4.match(header)
        if match is None:
            return ApiRefusal(FORBIDDEN, "IncompleteSignatureException", "IncompleteSignature", _INCOMPLETE)
        if match["key"] != ACCESS_KEY_ID:
            return ApiRefusal(FORBIDDEN, "UnrecognizedClientException", "InvalidClientTokenId", _UNKNOWN_KEY)
        body = _read_body(environ)
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return ApiRefusal(FORBIDDEN, "IncompleteSignatureException", "IncompleteSignature", _NO_DATE)
        if abs(self._clock() - signed_at) > SIGNATURE_SKEW or not amz_date.startswith(match["date"]):
            return ApiRefusal(HTTPStatus.BAD_REQUEST, "InvalidSignatureException", "RequestExpired", _EXPIRED)
        expected = _signature(environ, body, match, amz_date, self.exposure.token or "")
        if expected is None or not hmac.compare_digest(expected, match["signature"]):
            return ApiRefusal(FORBIDDEN, "InvalidSignatureException", "SignatureDoesNotMatch", _SIGNATURE_MISMATCH)
        return None


@dataclass(frozen=True)
class ApiRefusal:
    """AWS's answer to a request it will not authenticate: its status, and its code in each protocol."""

    status: HTTPStatus
    json_code: str
    xml_code: str
    message: str


FORBIDDEN = HTTPStatus.FORBIDDEN


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request's body, read once and put back for the app behind."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream where the body ends
        body: bytes = stream.read()
    else:
        body = stream.read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))  # what the app behind reads by, a chunked body's included
    return body


def _header_from_environ(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return str(value) if value is not None else None


def _signature(environ: dict[str, Any], body: bytes, match: re.Match[str], amz_date: str, secret: str) -> str | None:
    """The signature botocore's signer computes for this request, from what the request carries."""
    headers: dict[str, str] = {}
    for name in match["signed"].split(";"):
        value = _header_from_environ(environ, name)
        if value is None:
            return None
        headers[name] = value
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        query = environ.get("QUERY_STRING", "")
        raw = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
    url = f"http://{headers.get('host', '')}{raw}"
    request = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"), url=url, headers=headers, data=body)
    request.context["timestamp"] = amz_date
    signer_class = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    signer = signer_class(Credentials(ACCESS_KEY_ID, secret), match["service"], match["region"])
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


CORS_EXPOSED = "x-amzn-requestid, x-amzn-errortype, x-amz-request-id, x-amz-id-2, etag, x-amz-version-id"
"""What a page of an allowed origin may read of an answer besides the basics: what the SDKs read."""
CORS_MAX_AGE_SECONDS = 600


def _cross_origin(environ: dict[str, Any], host: str) -> str | None:
    """The `Origin` of a call a browser makes from another origin, one `origin_allowed` let through by now."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is None or origin.rstrip("/").lower() == f"http://{host.strip().lower()}":
        return None  # no browser's cross-origin call, or a same-origin one: no CORS to answer
    return str(origin)


def _preflight(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ


def _allow_preflight(environ: dict[str, Any], start_response: Callable[..., Any], origin: str) -> Iterable[bytes]:
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


def _with_cors(start_response: Callable[..., Any], origin: str | None) -> Callable[..., Any]:
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
        return start_response(status, kept + cors, exc_info)  # type: ignore[no-any-return]

    return allowing


def _from_another_site(environ: dict[str, Any]) -> bool:
    """What a browser says of a request it sends for a page of another origin (Fetch Metadata: `Sec-Fetch-Site`
    is `same-site` for another port of the same host, `cross-site` for another host; `same-origin` or `none`,
    typed or bookmarked, otherwise; absent from clients that are no browser)."""
    return environ.get("HTTP_SEC_FETCH_SITE") in ("cross-site", "same-site")


def _top_level_navigation(environ: dict[str, Any]) -> bool:
    """A link followed in the browser's own window: the person sees the answer, the page that linked does not."""
    return (
        environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        and environ.get("HTTP_SEC_FETCH_MODE") == "navigate"
        and environ.get("HTTP_SEC_FETCH_DEST") == "document"
    )


def _is_console(environ: dict[str, Any]) -> bool:
    path = environ.get("PATH_INFO", "")
    return bool(path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"))


_SIGNATURE_MISMATCH = "The request signature we calculated does not match the signature you provided."
_MISSING = "Request is missing Authentication Token"
_PRESIGNED = "Presigned URLs are answered on this machine only: sign requests with an Authorization header."
_INCOMPLETE = "The Authorization header is not an AWS Signature Version 4 header."
_UNKNOWN_KEY = f"The security token included in the request is invalid: sign as {ACCESS_KEY_ID} with the token."
_NO_DATE = "X-Amz-Date is missing or malformed."
_EXPIRED = "Signature expired: signed more than 15 minutes from this clock."
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


_SAFE_HEADERS = [*page_headers.HEADERS.items(), ("Cache-Control", "no-store")]
"""A refusal is a page like the console's: the same headers (no framing, no sniffing, no foreign assets)."""


def _refuse_page(start_response: Callable[..., Any], status: HTTPStatus, message: str) -> Iterable[bytes]:
    body = f"<!doctype html><title>{status.phrase}</title><p>{message}</p>\n".encode()
    start_response(
        f"{status.value} {status.phrase}",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))), *_SAFE_HEADERS],
    )
    return [body]


def _refuse_call(environ: dict[str, Any], start_response: Callable[..., Any], refusal: ApiRefusal) -> Iterable[bytes]:
    """`refusal` in the shape the caller's protocol reads: the query protocol's (and S3's) XML ErrorResponse,
    else the JSON protocols' `{"__type", "message"}` with `x-amzn-ErrorType`."""
    xml = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") or (
        "/s3/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
    )
    if xml:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{refusal.xml_code}</Code>"
            f"<Message>{xml_escape(refusal.message)}</Message></Error></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": refusal.json_code, "message": refusal.message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", refusal.json_code)]
    status = refusal.status
    start_response(f"{status.value} {status.phrase}", [*headers, ("Content-Length", str(len(body))), *_SAFE_HEADERS])
    return [body]
