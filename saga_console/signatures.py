"""A call to the AWS APIs signed as ACCESS_KEY_ID with a listener's token, checked as AWS checks a signature.

botocore's own signer recomputes the SigV4 signature from what the request carries (its method,
raw path and query, the headers it signed, its body), with the token as the secret key, so the
token itself never crosses the network. A refusal is answered as AWS answers one, in the shape
of the caller's protocol.
"""

from __future__ import annotations

import hmac
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from saga_console import page_headers

ACCESS_KEY_ID = "SAGALOCALENDPOINT"
"""The access key id whose secret access key is the token (the id names the credential; the token is the secret).
Shaped as AWS shapes them (16 to 128 letters and digits, IAM API reference, AccessKey), so every SDK takes it."""
SIGNATURE_SKEW = timedelta(minutes=15)
"""How far a signature's time may be from this clock: AWS refuses a request signed more than 15 minutes
away (SigV4 developer guide, "Elements of an AWS API request signature": RequestTimeTooSkewed / Signature expired)."""
_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;_.-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class ApiRefusal:
    """AWS's answer to a request it will not authenticate: its status, and its code in each protocol."""

    status: HTTPStatus
    json_code: str
    xml_code: str
    message: str


FORBIDDEN = HTTPStatus.FORBIDDEN


def signature_refusal(environ: dict[str, Any], secret: str, now: datetime) -> ApiRefusal | None:
    """None when the request is signed as ACCESS_KEY_ID with `secret`; else AWS's answer to it ("Common
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
    body = read_body(environ)
    amz_date = environ.get("HTTP_X_AMZ_DATE", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return ApiRefusal(FORBIDDEN, "IncompleteSignatureException", "IncompleteSignature", _NO_DATE)
    if abs(now - signed_at) > SIGNATURE_SKEW or not amz_date.startswith(match["date"]):
        return ApiRefusal(HTTPStatus.BAD_REQUEST, "InvalidSignatureException", "RequestExpired", _EXPIRED)
    expected = _signature(environ, body, match, amz_date, secret)
    if expected is None or not hmac.compare_digest(expected, match["signature"]):
        return ApiRefusal(FORBIDDEN, "InvalidSignatureException", "SignatureDoesNotMatch", _SIGNATURE_MISMATCH)
    return None


def read_body(environ: dict[str, Any]) -> bytes:
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


_SIGNATURE_MISMATCH = "The request signature we calculated does not match the signature you provided."
_MISSING = "Request is missing Authentication Token"
_PRESIGNED = "Presigned URLs are answered on this machine only: sign requests with an Authorization header."
_INCOMPLETE = "The Authorization header is not an AWS Signature Version 4 header."
_UNKNOWN_KEY = f"The security token included in the request is invalid: sign as {ACCESS_KEY_ID} with the token."
_NO_DATE = "X-Amz-Date is missing or malformed."
_EXPIRED = "Signature expired: signed more than 15 minutes from this clock."


def refuse_call(environ: dict[str, Any], start_response: Callable[..., Any], refusal: ApiRefusal) -> Iterable[bytes]:
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
    start_response(
        f"{status.value} {status.phrase}", [*headers, ("Content-Length", str(len(body))), *page_headers.REFUSAL_HEADERS]
    )
    return [body]
