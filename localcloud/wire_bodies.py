"""What the body of a request to the local endpoint may be: text moto can read, and for a
JSON-protocol call its operation's input, in the wire form of botocore's model.

The checks run before moto parses anything, so that no parser recurses into a hostile document:
a body must be UTF-8 (where moto decodes it), nest at most `MAX_NESTING` levels (moto reads any
body as JSON, whatever its Content-Type), and a JSON-protocol body must be a JSON object (no
NaN, no Infinity) whose members have their wire types (blobs base64 text, timestamps epoch
seconds) and satisfy botocore's ParamValidator (required members, minimums).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import zlib
from http import HTTPStatus
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator
from werkzeug.wsgi import get_input_stream

from localcloud.wire_errors import Refusal, serialization, validation

MAX_NESTING = 128
"""JSON nesting a request body may have (a JSON document inside a string member, a PutEvents
Detail, is its service's to parse: localcloud/limits.py). AWS documents no
limit for the wire; DynamoDB's own (32 levels of nested attributes, each two JSON levels, inside
a request's half-dozen) is the deepest any real request needs, and 128 stays far above it while
keeping every parser below Python's recursion limit."""

_SERIALIZATION = frozenset({"invalid type", "invalid type for document", "unable to encode to json"})
_JSON_MEDIA_TYPES = frozenset({"application/x-amz-json-1.0", "application/x-amz-json-1.1"})
_IGNORED = frozenset({"unknown field"})  # AWS ignores members it does not know; so do newer SDKs' requests here
MAX_INFLATED_BYTES = 32 * 1024 * 1024
"""A gzip body may inflate to twice DynamoDB's 16 MB request limit, the largest of AWS's JSON APIs; a
body that inflates further is refused (RequestEntityTooLargeException, 413, "Common Errors")."""

_STRING_OR_OTHER = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[^"\[\]{}]+')


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, read as JSON (brackets inside strings do not
    count); computed without parsing, so that no parser recurses into a hostile document."""
    depth = deepest = 0
    for bracket in _STRING_OR_OTHER.sub("", text):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, put back for moto to read again (as a known length, chunked or not)."""
    body: bytes = get_input_stream(environ, safe_fallback=True).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False
    return body


def text_refusal(environ: dict[str, Any], *, required: bool) -> str | Refusal | None:
    """The body as text, or the refusal of a body no parser of moto's may read: one that cannot be
    decompressed as its Content-Encoding says, is not UTF-8 where text is `required`, or nests too deep."""
    raw = read_body(environ)
    if "gzip" in str(environ.get("HTTP_CONTENT_ENCODING", "")).lower():
        inflater = zlib.decompressobj(wbits=31)
        try:
            raw = inflater.decompress(raw, MAX_INFLATED_BYTES)
        except zlib.error:
            return Refusal(
                HTTPStatus.BAD_REQUEST,
                "MalformedHttpRequestException",
                "MalformedHttpRequest",
                "The body cannot be decompressed as its Content-Encoding says.",
            )
        if inflater.unconsumed_tail:
            return Refusal(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "RequestEntityTooLargeException",
                "RequestEntityTooLarge",
                "The request entity is too large.",
            )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return serialization("The request body is not UTF-8.") if required else None
    if nesting_depth(text) > MAX_NESTING:  # moto reads any body as JSON, whatever its Content-Type
        return serialization(f"The request body is nested deeper than {MAX_NESTING} levels.")
    return text


def body_refusal(environ: dict[str, Any], operation: OperationModel) -> Refusal | None:
    """The refusal of a JSON-protocol call's body that is not `operation`'s input in wire form, if it is not."""
    media_type = str(environ.get("CONTENT_TYPE", "")).partition(";")[0].strip().lower()
    if media_type not in _JSON_MEDIA_TYPES:  # the protocol's own; moto reads another as a REST call
        return serialization("A JSON-protocol request's Content-Type is application/x-amz-json-1.0 or 1.1.")
    text = text_refusal(environ, required=True)
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
    return None


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
        # attr-defined: type_name says which Shape subclass it is (ListShape.member, MapShape.value).
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
