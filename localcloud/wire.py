"""Refuses malformed requests to the local endpoint as AWS does, with AWS's 4xx and error shape, before moto reads them.

moto's HTTP dispatcher trusts what it is sent: a request without credentials was routed to S3
and failed there, an unknown `X-Amz-Target`, a body that is no UTF-8 JSON or nested 100,000
levels deep raised inside moto (HTTP 500), and a truncated PutEvents body was read as no
entries at all (HTTP 200). In front of it, `Wire` answers such requests as AWS answers them:

- moto's own admin API (`/moto-api/`: reset, recorder, seed) → UnknownOperationException, 404: AWS
  has none, and its GETs (the recorder writes every request body to a file) need no credentials;
- no credentials (no `Authorization` header, no presigned S3 URL's full set of query parameters)
  → MissingAuthenticationToken, 403;
- an `Authorization` that is no SigV4 header, or scoped to a region or service moto does not
  serve, or to another service than its target's → IncompleteSignature, 403;
- a JSON-protocol call (`X-Amz-Target`) naming no operation of its service → UnknownOperationException, 404;
- a body that is not a UTF-8 JSON object (no NaN or Infinity), nested deeper than
  `MAX_NESTING`, or whose values do not have the wire types of the operation's input shape
  → SerializationException, 400; a required member missing, a length or range below its
  minimum → ValidationException, 400 (botocore's own service models and ParamValidator:
  `wire_bodies`);
- a query-protocol call without an Action, naming none of its service, or without a required
  parameter → MissingAction, InvalidAction, MissingParameter, 400 (`wire_query`).

The error shapes (`wire_errors`) are the JSON protocol's (`{"__type", "message"}`, `x-amzn-ErrorType`) for a
JSON-protocol service, else the query protocol's XML ErrorResponse. Messages name members of
the operation's model, never a value or a key the client chose. Sources: "Common Errors"
(docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html; RDS and CloudSearch API
references for MissingAuthenticationToken) and "Error handling with DynamoDB" (the JSON body).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import botocore.session
import moto.backends
from botocore.model import ServiceModel
from moto.moto_server.werkzeug_app import (
    SIGNING_ALIASES,
    UNSIGNED_ACTIONS,
    UNSIGNED_REQUESTS,
    DomainDispatcherApplication,
)

from localcloud.wire_bodies import body_refusal, read_body, text_refusal
from localcloud.wire_errors import (
    Refusal,
    answer,
    incomplete_signature,
    internal_failure,
    missing_authentication,
    names_its_error,
    names_its_error_in_headers,
    unknown_operation,
    unshaped,
)
from localcloud.wire_query import query_refusal

_LOG = logging.getLogger(__name__)
MOTO_ADMIN_PATH = "/moto-api"
"""moto's own HTTP API (reset, recorder, seed, state, proxy): served to nobody, for AWS has no such thing."""
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Za-z0-9_]+)/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9.-]+)/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9A-Za-z-]+\Z"
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
    query: dict[str, tuple[ServiceModel, ...]]
    """By signing name, the services that speak the query protocol (SQS too, query-compatible)."""
    query_only: frozenset[str]
    """Signing names whose every service speaks the query protocol only: their parameters are checked."""

    @staticmethod
    @functools.cache
    def load() -> Services:
        session = botocore.session.get_session()
        served = set(moto.backends.list_of_moto_modules())
        by_target: dict[str, ServiceModel] = {}
        protocols: dict[str, set[str]] = {}
        query: dict[str, tuple[ServiceModel, ...]] = {}
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
            if "query" in spoken:
                query[model.signing_name] = (*query.get(model.signing_name, ()), model)
        endpoints = session.get_component("data_loader").load_data("endpoints")
        regions = frozenset(region for partition in endpoints["partitions"] for region in partition["regions"])
        json_only = frozenset(name for name, spoken in protocols.items() if spoken == {"json"})
        rest_json = frozenset(name for name, spoken in protocols.items() if spoken == {"rest-json"})
        query_only = frozenset(name for name, spoken in protocols.items() if spoken == {"query"})
        return Services(by_target, json_only, rest_json, regions, query, query_only)


class Wire:
    """WSGI middleware in front of moto's `DomainDispatcherApplication` (`dispatcher`)."""

    def __init__(self, dispatcher: DomainDispatcherApplication) -> None:
        self._dispatcher = dispatcher

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        service = Services.load().by_target.get(target.rpartition(".")[0]) if target is not None else None
        json_content_type = _json_content_type(environ, target, service)
        refusal = self._refusal(environ, target, service)
        if refusal is not None:
            return answer(refusal, json_content_type, start_response)
        answered: list[Any] = []

        def held(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            answered[:] = [status, headers]
            return lambda data: None  # moto's Flask app returns its body; it never writes

        try:
            body = self._dispatcher(environ, held)
        except Exception as error:  # moto's own failure: AWS's InternalFailure, not a traceback
            name = service.service_name if service is not None else "non-JSON-protocol"
            _LOG.error("moto raised %s answering a %s request", type(error).__name__, name)
            return answer(internal_failure(), json_content_type, start_response)
        status, headers = answered
        code = int(status.split()[0])
        if code < HTTPStatus.BAD_REQUEST or names_its_error_in_headers(headers):
            start_response(status, headers)
            return body  # type: ignore[no-any-return]  # moto's WSGI app is untyped
        content = b"".join(body)
        if names_its_error(content):
            start_response(status, headers)
            return [content]
        # moto's bare answer (Flask's HTML page for a route it lacks, an empty body): AWS's shape
        return answer(unshaped(code), json_content_type, start_response)

    def _refusal(self, environ: dict[str, Any], target: str | None, service: ServiceModel | None) -> Refusal | None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        authorization = environ.get("HTTP_AUTHORIZATION")
        if environ.get("PATH_INFO", "").startswith(MOTO_ADMIN_PATH):
            return unknown_operation()  # moto's own admin API (reset, recorder, seed): AWS has none
        if authorization is None:
            if _presigned_for_s3(query):
                return None  # S3's query-string authentication: the one API moto serves presigned
            if not _unsigned_operation(environ, target):
                return missing_authentication()
        else:
            refusal = self._scope_refusal(environ, authorization, target, service)
            if refusal is not None:
                return refusal
        if target is None:
            return self._untargeted_body_refusal(environ, authorization) or _query_refusal(environ, authorization)
        operation = target.rpartition(".")[2]
        if service is None or operation not in service.operation_names:
            return unknown_operation()
        return body_refusal(environ, service.operation_model(operation))

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
        refusal = text_refusal(environ, required=textual)
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


def _query_refusal(environ: dict[str, Any], authorization: str | None) -> Refusal | None:
    """A query-protocol call signed for a query service must name one of its operations (`wire_query`)."""
    signed = _SIGV4.match(authorization.strip()) if authorization is not None else None
    services = Services.load()
    if signed is None or signed["service"] not in services.query:
        return None
    scoped = signed["service"]
    return query_refusal(environ, services.query[scoped], strict=scoped in services.query_only)


_PRESIGNED_V4 = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"}
_PRESIGNED_V2 = {"AWSAccessKeyId", "Signature", "Expires"}


def _presigned_for_s3(query: dict[str, list[str]]) -> bool:
    """A presigned S3 URL's full set of query parameters (S3 API reference, "Authenticating Requests: Using
    Query Parameters"): SigV4's, scoped to s3, or SigV2's. Two made-up parameters are no presigned URL."""
    if query.keys() >= _PRESIGNED_V4:
        scope = query["X-Amz-Credential"][0].split("/")
        return len(scope) == 5 and scope[3] == "s3" and scope[4] == "aws4_request"
    return query.keys() >= _PRESIGNED_V2


def _unsigned_operation(environ: dict[str, Any], target: str | None) -> bool:
    """The operations AWS serves without credentials (moto's list: Cognito, STS's federation)."""
    if target is not None:
        return target.partition(".")[0] in UNSIGNED_REQUESTS
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return False
    form = parse_qs(read_body(environ).decode("utf-8", "replace"))
    return any(action in UNSIGNED_ACTIONS for action in form.get("Action", []))
