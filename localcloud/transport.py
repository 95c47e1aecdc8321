"""Inside the mock, a JSON-protocol call goes from botocore's client straight to moto's dispatcher.

botocore validates and serializes the call as always, and parses moto's answer with its own
parser, retrying what its retry handler retries. What it skips is the HTTP hop that moto
answers anyway: the prepared request with its e-mail style headers, the signing events, the
send hooks and the response events, which cost more CPU than moto's own work on a local
DynamoDB call (docs/bench.md). The request moto sees carries what it reads from a real one: the
method, URL, headers and body botocore serialized, and SigV4's credential scope (moto takes
the account from the access key, and some services the region, from it).

Anything else takes botocore's own path: other protocols (Lambda's REST, S3), streaming
input, unsigned clients, a URL moto does not serve, and every call outside the mock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient
from botocore.endpoint import Endpoint, convert_to_response_dict
from botocore.httpchecksum import handle_checksum_body
from botocore.model import OperationModel
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from localcloud.patching import Kind, Patch

Response = tuple[AWSResponse, dict[str, Any]]


def make_request(
    client: BaseClient, operation_model: OperationModel, request_dict: dict[str, Any], request_context: dict[str, Any]
) -> Response:
    """`BaseClient._make_request`, in-process where moto would answer the HTTP request."""
    response = None
    if _in_process(client, operation_model):
        try:
            response = _call(client, operation_model, request_dict)
        except Exception as error:
            client.meta.events.emit(
                f"after-call-error.{operation_model.service_model.service_id.hyphenize()}.{operation_model.name}",
                exception=error,
                context=request_context,
            )
            raise
    if response is None:
        # no-any-return: Patch.original is untyped.
        return _MAKE_REQUEST.original(client, operation_model, request_dict, request_context)  # type: ignore[no-any-return]
    return response


def _in_process(client: BaseClient, operation_model: OperationModel) -> bool:
    return (
        botocore_stubber.enabled
        and operation_model.service_model.resolved_protocol == "json"
        and not operation_model.has_streaming_input
        and client._request_signer._credentials is not None  # type: ignore[attr-defined]  # private: not in the stubs
    )


def _call(client: BaseClient, operation_model: OperationModel, request_dict: dict[str, Any]) -> Response | None:
    """One call with botocore's retry loop (`Endpoint._send_request`); None if moto does not serve the URL."""
    endpoint: Endpoint = client._endpoint  # type: ignore[attr-defined]  # private: not in the stubs
    context = request_dict["context"]
    headers = {**request_dict["headers"], "Authorization": _credential_scope(client, operation_model, context)}
    body = request_dict["body"]
    # Below, the ignores are botocore's private retry and parsing steps, which botocore-stubs leaves
    # out (attr-defined), and a plain dict where the stubs want HTTPHeaders: botocore reads it by key.
    request = AWSPreparedRequest(
        request_dict["method"],
        request_dict["url"],
        headers,  # type: ignore[arg-type]
        body.encode() if isinstance(body, str) else body,
        False,
    )
    attempts = 1
    endpoint._update_retries_context(context, attempts)  # type: ignore[attr-defined]
    response = _send(endpoint, operation_model, request, context)
    if response is None:
        return None
    while endpoint._needs_retry(attempts, operation_model, request_dict, response, None):  # type: ignore[attr-defined]
        attempts += 1  # _needs_retry slept as the retry policy says
        endpoint._update_retries_context(context, attempts, response)  # type: ignore[attr-defined]
        response = _send(endpoint, operation_model, request, context)
        if response is None:
            raise RuntimeError(f"moto stopped serving {request.url} between two attempts")
    if "ResponseMetadata" in response[1]:
        response[1]["ResponseMetadata"]["RetryAttempts"] = attempts - 1
    return response


def scope_only_authorization(scope: str) -> str:
    """SigV4's Authorization header with its credential scope and no computed signature: moto
    reads the access key and the region from the scope and never checks a signature."""
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=not-computed-locally"


def _credential_scope(client: BaseClient, operation_model: OperationModel, context: dict[str, Any]) -> str:
    """The Authorization header `localcloud.patches.core` writes for the same call, signing it."""
    signer = client._request_signer  # type: ignore[attr-defined]  # private: not in the stubs
    signing = context.get("signing") or {}
    region = signing.get("region") or signer.region_name
    name = signing.get("signing_name") or signer.signing_name or operation_model.service_model.signing_name
    day = datetime.now(UTC).strftime("%Y%m%d")
    return scope_only_authorization(f"{signer._credentials.access_key}/{day}/{region}/{name}/aws4_request")


def _send(
    endpoint: Endpoint, operation_model: OperationModel, request: AWSPreparedRequest, context: dict[str, Any]
) -> Response | None:
    """moto's answer, parsed as `Endpoint._do_get_response` parses an HTTP response."""
    answer = botocore_stubber.process_request(request)
    if answer is None:
        return None
    status, response_headers, body = answer
    # arg-type: moto's headers are a plain dict; the stubs name botocore's HTTPHeaders.
    http_response = AWSResponse(request.url, status, response_headers, MockRawResponse(body))  # type: ignore[arg-type]
    response_dict = convert_to_response_dict(http_response, operation_model)
    # arg-type: the stubs name the urllib3-backed AWSHTTPResponse; botocore reads only what AWSResponse has.
    handle_checksum_body(http_response, response_dict, context, operation_model)  # type: ignore[arg-type]
    customized: dict[str, Any] = {}
    endpoint._event_emitter.emit(  # type: ignore[attr-defined]  # private: not in the stubs
        f"before-parse.{operation_model.service_model.service_id.hyphenize()}.{operation_model.name}",
        operation_model=operation_model,
        response_dict=response_dict,
        customized_response_dict=customized,
    )
    # attr-defined: private: not in the stubs.
    parser = endpoint._response_parser_factory.create_parser(operation_model.service_model.resolved_protocol)  # type: ignore[attr-defined]
    parsed: dict[str, Any] = parser.parse(response_dict, operation_model.output_shape)
    parsed.update(customized)
    if http_response.status_code >= 300:
        endpoint._add_modeled_error_fields(response_dict, parsed, operation_model, parser)  # type: ignore[attr-defined]
    return http_response, parsed


PATCHES = (
    _MAKE_REQUEST := Patch(
        owner=BaseClient,
        name="_make_request",
        replacement=make_request,
        kind=Kind.SPEED,
        why="Inside the mock, botocore prepares, signs and sends an HTTP request that moto answers "
        "in-process anyway (a third of a local DynamoDB call's CPU): a JSON-protocol call goes "
        "from the client straight to moto's dispatcher, parsed and retried as botocore does.",
    ),
)
