"""What a query-protocol call (`Action=...`) must name: an operation of its service, and its required parameters.

moto answered an unknown or missing Action (OperationNotFoundError, NotImplementedError) and a
call without a required parameter (KeyError) with HTTP 500. AWS's query services answer
MissingAction, InvalidAction and MissingParameter, each HTTP 400 ("Common Errors" of the query
services' API references, e.g. docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from botocore.model import ServiceModel

from localcloud.wire_bodies import read_body
from localcloud.wire_errors import Refusal


def _refused(code: str, message: str) -> Refusal:
    return Refusal(HTTPStatus.BAD_REQUEST, code, code, message)


def _params(environ: dict[str, Any]) -> dict[str, list[str]]:
    """The parameters as moto reads them: a form body's, else the query string's, else the body's read as a form."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qs(read_body(environ).decode("utf-8", "replace"), keep_blank_values=True)
    if query := parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        return query
    return parse_qs(read_body(environ).decode("utf-8", "replace"), keep_blank_values=True)


def query_refusal(environ: dict[str, Any], models: tuple[ServiceModel, ...], *, strict: bool) -> Refusal | None:
    """The refusal of a call to the service of `models` that names no operation of it, or leaves out a
    required parameter. `strict`: the service speaks the query protocol only, so that moto reads every
    call to it as one; else (SQS, CloudWatch) only a call that names an Action is a query call."""
    params = _params(environ)
    if not strict and "Action" not in params:
        return None
    actions = params.get("Action") or []
    if not actions or not actions[0]:
        return _refused("MissingAction", "The request must name an Action.")
    model = next((m for m in models if actions[0] in m.operation_names), None)
    if model is None:
        return _refused("InvalidAction", "The action or operation requested is invalid.")
    shape = model.operation_model(actions[0]).input_shape
    if not strict or shape is None:
        return None
    for name in shape.required_members:
        member = shape.members[name]
        wire_name = member.serialization.get("name", name)
        given = [
            value
            for key, values in params.items()
            if key == wire_name or key.startswith(f"{wire_name}.")
            for value in values
        ]
        if not given:
            return _refused("MissingParameter", f"The request must contain the parameter {wire_name}.")
        if member.type_name == "string" and member.metadata.get("min", 0) > 0 and given == [""]:
            return _refused("ValidationError", f"The parameter {wire_name} must not be empty.")
    return None
