"""Refuses malformed requests to the local endpoint as AWS does, with AWS's 4xx and error shape, before moto reads them.

moto's HTTP dispatcher trusts what it is sent: a request without credentials was routed to S3
and failed there, an unknown `X-Amz-Target`, a body that is no UTF-8 JSON or nested 100,000
levels deep raised inside moto (HTTP 500), and a truncated PutEvents body was read as no
entries at all (HTTP 200). In front of it, `Wire` answers such requests as AWS answers them:

- no credentials (no `Authorization` header, no presigned query) → MissingAuthenticationToken, 403;
- an `Authorization` that is no SigV4 header, or scoped to a region or service moto does not
  serve, or to another service than its target's → IncompleteSignature, 403;
- a JSON-protocol call (`X-Amz-Target`) naming no operation of its service → UnknownOperationException, 404;
- a body that is not a UTF-8 JSON object (no NaN or Infinity), nested deeper than
  `MAX_NESTING`, or whose values do not have the wire types of the operation's input shape
  → SerializationException, 400; a required member missing, a length or range below its
  minimum → ValidationException, 400 (botocore's own service models and ParamValidator).

The error shapes are the JSON protocol's (`{"__type", "message"}`, `x-amzn-ErrorType`) for a
JSON-protocol service, else the query protocol's XML ErrorResponse. Messages name members of
the operation's model, never a value or a key the client chose. Sources: "Common Errors"
(docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html; RDS and CloudSearch API
references for MissingAuthenticationToken) and "Error handling with DynamoDB" (the JSON body).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import logging
import re
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
import moto.backends
from botocore.model import ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator
from moto.moto_server.werkzeug_app import SIGNING_ALIASES, UNSIGNED_ACTIONS, UNSIGNED_REQUESTS
from werkzeug.wsgi import get_input_stream

from localcloud.wire_documents import JSON_DOCUMENT_MEMBERS, nesting_depth

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_NESTING = 128
"""JSON nesting a request body or a JSON document in a string member may have. AWS documents no
limit for the wire; DynamoDB's own (32 levels of nested attributes, each two JSON levels, inside
a request's half-dozen) is the deepest any real request needs, and 128 stays far above it while
keeping every parser below Python's recursion limit."""

_LOG = logging.getLogger(__name__)
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Za-z0-9]+)/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9.-]+)/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9A-Za-z-]+\Z"
)
_SERIALIZATION = frozenset({"invalid type", "invalid type for document", "unable to encode to json"})
_JSON_MEDIA_TYPES = frozenset({"application/x-amz-json-1.0", "application/x-amz-json-1.1"})
_IGNORED = frozenset({"unknown field"})  # AWS ignores members it does not know; so do newer SDKs' requests here


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


@dataclass(frozen=True)
class Services:
    """What botocore's models say of the services moto serves: by target prefix, by signing name."""

    by_target: dict[str, ServiceModel]
    json_only: frozenset[str]
    """Signing names whose every service speaks JSON only: a call to one without a target names no operation."""
    rest_json: frozenset[str]
    """Signing names whose every service speaks REST-JSON (Lambda): their errors are JSON too."""
    regions: frozenset[str]

    @staticmethod
    @functools.cache
    def load() -> Services:
        session = botocore.session.get_session()
        served = set(moto.backends.list_of_moto_modules())
        by_target: dict[str, ServiceModel] = {}
        protocols: dict[str, set[str]] = {}
        for name in session.get_available_services():
            if not {name.replace("-", ""), f"aws{name}"} & served:
                continue
            model = session.get_service_model(name)
            meta = model.metadata
            spoken = set(meta.get("protocols") or [meta["protocol"]])
            if "awsQueryCompatible" in meta:
                spoken.add("query")
            protocols.setdefault(model.signing_name, set()).update(spoken)
            if prefix := meta.get("targetPrefix"):
                by_target.setdefault(prefix, model)
        endpoints = session.get_component("data_loader").load_data("endpoints")
        regions = frozenset(region for partition in endpoints["partitions"] for region in partition["regions"])
        json_only = frozenset(name for name, spoken in protocols.items() if spoken == {"json"})
        rest_json = frozenset(name for name, spoken in protocols.items() if spoken == {"rest-json"})
        return Services(by_target, json_only, rest_json, regions)


class Wire:
    """WSGI middleware in front of moto's `DomainDispatcherApplication` (`dispatcher`)."""

    def __init__(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        service = Services.load().by_target.get(target.rpartition(".")[0]) if target is not None else None
        json_content_type = _json_content_type(environ, target, service)
        refusal = self._refusal(environ, target, service)
        if refusal is not None:
            return _answer(refusal, json_content_type, start_response)
        answered: list[Any] = []

        def held(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            answered[:] = [status, headers]
            return lambda data: None  # moto's Flask app returns its body; it never writes

        try:
            body = self._dispatcher(environ, held)
        except Exception as error:  # moto's own failure: AWS's InternalFailure, not a traceback
            name = service.service_name if service is not None else "non-JSON-protocol"
            _LOG.error("moto raised %s answering a %s request", type(error).__name__, name)
            return _answer(internal_failure(), json_content_type, start_response)
        status, headers = answered
        code = int(status.split()[0])
        if code < HTTPStatus.BAD_REQUEST or _error_header(headers):
            start_response(status, headers)
            return body  # type: ignore[no-any-return]
        content = b"".join(body)
        if _error_body(content):
            start_response(status, headers)
            return [content]
        # moto's bare answer (Flask's HTML page for a route it lacks, an empty body): AWS's shape
        unshaped = internal_failure() if code >= HTTPStatus.INTERNAL_SERVER_ERROR else _unshaped(HTTPStatus(code))
        return _answer(unshaped, json_content_type, start_response)

    def _refusal(self, environ: dict[str, Any], target: str | None, service: ServiceModel | None) -> Refusal | None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        authorization = environ.get("HTTP_AUTHORIZATION")
        if authorization is None:
            presigned = {"X-Amz-Signature", "X-Amz-Credential"} <= query.keys()
            if presigned or {"AWSAccessKeyId", "Signature"} <= query.keys():
                return None  # moto reads a presigned URL as AWS does
            if not _unsigned_operation(environ, target):
                return missing_authentication()
        else:
            refusal = self._scope_refusal(environ, authorization, target, service)
            if refusal is not None:
                return refusal
        if target is None:
            return self._untargeted_body_refusal(environ, authorization)
        operation = target.rpartition(".")[2]
        if service is None or operation not in service.operation_names:
            return unknown_operation()
        return _body_refusal(environ, service.operation_model(operation))

    def _untargeted_body_refusal(self, environ: dict[str, Any], authorization: str | None) -> Refusal | None:
        """A REST or query call's body, where moto reads it as text. S3's bodies are objects' own bytes,
        but where S3 takes no payload (the service's root, GET, HEAD, DELETE) moto parses one as JSON."""
        signed = _SIGV4.match(authorization.strip()) if authorization is not None else None
        if signed is None or not environ.get("CONTENT_LENGTH", "").strip("0"):
            return None
        payload = environ.get("PATH_INFO", "/") != "/" and environ.get("REQUEST_METHOD") in ("PUT", "POST")
        if signed["service"] == "s3" and payload:
            return None
        content_type = str(environ.get("CONTENT_TYPE", ""))
        # binary bodies come typed (application/cbor, application/octet-stream); moto decodes any other as UTF-8
        textual = not content_type or "json" in content_type or content_type.startswith("application/x-www-form")
        refusal = _text(environ, required=textual)
        return refusal if isinstance(refusal, Refusal) else None

    def _scope_refusal(
        self, environ: dict[str, Any], authorization: str, target: str | None, service: ServiceModel | None
    ) -> Refusal | None:
        signed = _SIGV4.match(authorization.strip())
        if signed is None:
            return incomplete_signature("Authorization header requires Credential, SignedHeaders and Signature.")
        scoped = SIGNING_ALIASES.get(signed["service"], signed["service"])
        services = Services.load()
        if signed["region"] not in services.regions:
            return incomplete_signature("Credential should be scoped to a valid region.")
        if service is not None and scoped != service.signing_name:
            return incomplete_signature(f"Credential should be scoped to correct service: '{service.signing_name}'.")
        if target is None and scoped in services.json_only:
            return unknown_operation()
        if service is None and target is not None:
            return unknown_operation()
        if "HTTP_HOST" not in environ:  # HTTP/1.1 requires it; moto's routing reads it
            return Refusal(HTTPStatus.BAD_REQUEST, "MalformedHttpRequestException", "MalformedHttpRequest", "No Host.")
        host = self._dispatcher.infer_service_region_host(environ, environ.get("PATH_INFO", ""))
        if self._dispatcher.get_backend_for_host(host) is None:
            return incomplete_signature("Credential should be scoped to a service this endpoint serves.")
        return None


def _json_content_type(environ: dict[str, Any], target: str | None, service: ServiceModel | None) -> str | None:
    """The Content-Type of the JSON errors of the protocol the caller speaks; None: it gets XML errors."""
    if service is not None:
        return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"
    if target is not None:
        return "application/x-amz-json-1.0"
    signed = _SIGV4.match(str(environ.get("HTTP_AUTHORIZATION", "")).strip())
    if signed is not None and signed["service"] in Services.load().json_only:
        return "application/x-amz-json-1.0"
    if signed is not None and signed["service"] in Services.load().rest_json:
        return "application/json"
    return None


def _unsigned_operation(environ: dict[str, Any], target: str | None) -> bool:
    """The operations AWS serves without credentials (moto's list: Cognito, STS's federation)."""
    if target is not None:
        return target.partition(".")[0] in UNSIGNED_REQUESTS
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return False
    form = parse_qs(_read_body(environ).decode("utf-8", "replace"))
    return any(action in UNSIGNED_ACTIONS for action in form.get("Action", []))


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, put back for moto to read again (as a known length, chunked or not)."""
    body: bytes = get_input_stream(environ, safe_fallback=True).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False
    return body


def _text(environ: dict[str, Any], *, required: bool) -> str | Refusal | None:
    """The body as text, or the refusal of a body no parser of moto's may read: one that cannot be
    decompressed as its Content-Encoding says, is not UTF-8 where text is `required`, or nests too deep."""
    raw = _read_body(environ)
    if "gzip" in str(environ.get("HTTP_CONTENT_ENCODING", "")).lower():
        try:
            raw = zlib.decompressobj(wbits=31).decompress(raw)
        except zlib.error:
            return Refusal(
                HTTPStatus.BAD_REQUEST,
                "MalformedHttpRequestException",
                "MalformedHttpRequest",
                "The body cannot be decompressed as its Content-Encoding says.",
            )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return serialization("The request body is not UTF-8.") if required else None
    if nesting_depth(text) > MAX_NESTING:  # moto reads any body as JSON, whatever its Content-Type
        return serialization(f"The request body is nested deeper than {MAX_NESTING} levels.")
    return text


def _body_refusal(environ: dict[str, Any], operation: Any) -> Refusal | None:
    media_type = str(environ.get("CONTENT_TYPE", "")).partition(";")[0].strip().lower()
    if media_type not in _JSON_MEDIA_TYPES:  # the protocol's own; moto reads another as a REST call
        return serialization("A JSON-protocol request's Content-Type is application/x-amz-json-1.0 or 1.1.")
    text = _text(environ, required=True)
    if not isinstance(text, str):
        return text
    try:
        params = json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except ValueError:
        return serialization("The request body is not valid JSON.")
    if not isinstance(params, dict):
        return serialization("The request body is not a JSON object.")
    shape = operation.input_shape
    if shape is None:
        return None
    problems: list[str] = []
    wire = _from_wire(params, shape, shape.name, problems)
    if problems:
        return serialization(f"Value at '{problems[0]}' is not of its wire type.")
    report = ParamValidator().validate(wire, shape)
    errors = [
        (reason, details["required_name"] if reason == "missing required field" and not name else _member(name))
        for reason, name, details in report._errors
        if reason not in _IGNORED
    ]
    if wrong := [member for reason, member in errors if reason in _SERIALIZATION]:
        return serialization(f"Value at '{wrong[0]}' is not of the type its member requires.")
    if errors:
        reason, member = errors[0]
        return validation(
            f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
            f"Value at '{member}' failed to satisfy constraint: {_CONSTRAINTS.get(reason, reason)}"
        )
    return _document_refusal(operation.name, params)


_CONSTRAINTS = {
    "missing required field": "Member must not be null",
    "invalid length": "Member must have length greater than or equal to its minimum",
    "invalid range": "Member must have value greater than or equal to its minimum",
    "empty input": "Member must set exactly one of its members",
    "more than one input": "Member must set exactly one of its members",
}


def _member(path: str) -> str:
    """The top-level member a ParamValidator path starts with: a name from the model, never a client's map key."""
    return re.split(r"[.\[ ]", path.lstrip("."), maxsplit=1)[0]


def _document_refusal(operation: str, params: dict[str, Any]) -> Refusal | None:
    """A JSON document carried in a string member (a PutEvents Detail, an execution input) nested past the limit."""
    if operation not in JSON_DOCUMENT_MEMBERS:
        return None
    path, code = JSON_DOCUMENT_MEMBERS[operation]
    if any(isinstance(value, str) and nesting_depth(value) > MAX_NESTING for value in _at(params, path)):
        member = ".".join(path)
        return Refusal(HTTPStatus.BAD_REQUEST, code, code, f"'{member}' is a JSON document nested too deeply.")
    return None


def _at(value: Any, path: tuple[str, ...]) -> Iterable[Any]:
    if not path:
        yield value
    elif isinstance(value, list) and path[0] == "*":
        for item in value:
            yield from _at(item, path[1:])
    elif isinstance(value, dict) and path[0] in value:
        yield from _at(value[path[0]], path[1:])


def _from_wire(value: Any, shape: Shape, name: str, problems: list[str]) -> Any:
    """`value` as botocore's client would hold it: blobs decoded from base64, nulls as absent
    members; a blob or timestamp not in its wire form (base64 text, epoch seconds) is a problem."""
    if shape.type_name == "blob":
        if not isinstance(value, str):
            problems.append(name)
            return value
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            problems.append(name)
            return value
    if shape.type_name == "timestamp":
        textual = shape.serialization.get("timestampFormat", "unixtimestamp") != "unixtimestamp"
        if not (isinstance(value, str) if textual else isinstance(value, int | float) and not isinstance(value, bool)):
            problems.append(name)
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict) and not shape.is_document_type:
        members = shape.members
        return {
            key: _from_wire(item, members[key], key, problems) if key in members else item
            for key, item in value.items()
            if item is not None
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_wire(item, shape.member, name, problems) for item in value]  # type: ignore[attr-defined]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _from_wire(item, shape.value, name, problems) for key, item in value.items()}  # type: ignore[attr-defined]
    return value


def _not_json(constant: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError("a number beyond a double's range")
    return number


def _error_header(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() in ("x-amzn-errortype", "x-amzn-query-error") for name, _ in headers)


def _error_body(content: bytes) -> bool:
    """Whether an error body names its error as AWS's protocols do (JSON `__type`/`code`, XML `<Code>`)."""
    if b"<Code>" in content:
        return True
    try:
        error = json.loads(content)
    except ValueError:
        return False
    return isinstance(error, dict) and any(key in error for key in ("__type", "code", "Code"))


def _unshaped(status: HTTPStatus) -> Refusal:
    """An error moto answered without naming it: by its status, the nearest of AWS's common errors."""
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED):
        return unknown_operation()
    return Refusal(status, "ValidationException", "InvalidParameterValue", "The request is not valid.")


def _answer(refusal: Refusal, json_content_type: str | None, start_response: Callable[..., Any]) -> Iterable[bytes]:
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
