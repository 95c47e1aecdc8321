"""AWS's answers to a malformed request: the common errors, in the JSON protocol's shape or the query protocol's.

The JSON shape is `{"__type": code, "message": ...}` with `x-amzn-ErrorType` ("Error handling with
DynamoDB"); the XML one is the query protocol's `ErrorResponse`, which botocore's XML parsers all
read. Statuses: "Common Errors" (docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html;
the RDS and CloudSearch API references for MissingAuthenticationToken).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Refusal:
    """One of AWS's answers to a malformed request: its HTTP status, error code and message."""

    status: HTTPStatus
    json_code: str
    query_code: str
    message: str


def missing_authentication() -> Refusal:
    return Refusal(
        HTTPStatus.FORBIDDEN,
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
    )


def incomplete_signature(message: str) -> Refusal:
    return Refusal(HTTPStatus.FORBIDDEN, "IncompleteSignatureException", "IncompleteSignature", message)


def unknown_operation() -> Refusal:
    return Refusal(HTTPStatus.NOT_FOUND, "UnknownOperationException", "InvalidAction", "The operation is unknown.")


def serialization(message: str) -> Refusal:
    return Refusal(HTTPStatus.BAD_REQUEST, "SerializationException", "MalformedInput", message)


def validation(message: str) -> Refusal:
    return Refusal(HTTPStatus.BAD_REQUEST, "ValidationException", "ValidationError", message)


def internal_failure() -> Refusal:
    return Refusal(
        HTTPStatus.INTERNAL_SERVER_ERROR, "InternalFailure", "InternalFailure", "The request processing has failed."
    )


def names_its_error_in_headers(headers: list[tuple[str, str]]) -> bool:
    """Whether a response's headers name its error (JSON protocols, query-compatible ones)."""
    return any(name.lower() in ("x-amzn-errortype", "x-amzn-query-error") for name, _ in headers)


def names_its_error(content: bytes) -> bool:
    """Whether an error body names its error as AWS's protocols do (JSON `__type`/`code`, XML `<Code>`)."""
    if b"<Code>" in content:
        return True
    try:
        error = json.loads(content)
    except ValueError:
        return False
    return isinstance(error, dict) and any(key in error for key in ("__type", "code", "Code"))


def unshaped(code: int) -> Refusal:
    """An error moto answered without naming it: by its status, the nearest of AWS's common errors."""
    if code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return internal_failure()
    if code in (HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED):
        return unknown_operation()
    status = HTTPStatus(code) if code in HTTPStatus.__members__.values() else HTTPStatus.BAD_REQUEST
    return Refusal(status, "ValidationException", "InvalidParameterValue", "The request is not valid.")


def answer(refusal: Refusal, json_content_type: str | None, start_response: Callable[..., Any]) -> Iterable[bytes]:
    """`refusal` as a WSGI response: in the JSON shape with that Content-Type, or else as XML."""
    request_id = str(uuid.uuid4())
    status = f"{refusal.status.value} {refusal.status.phrase}"
    if json_content_type is not None:
        body = json.dumps({"__type": refusal.json_code, "message": refusal.message}).encode()
        content_type = json_content_type
        headers = [("x-amzn-ErrorType", refusal.json_code)]
    else:
        fault = "Receiver" if refusal.status >= HTTPStatus.INTERNAL_SERVER_ERROR else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{fault}</Type><Code>{refusal.query_code}</Code>"
            f"<Message>{escape(refusal.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
        headers = []
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
            *headers,
        ],
    )
    return [body]
