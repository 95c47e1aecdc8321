"""moto's core and botocore's request plumbing: what every request pays for and moto never reads."""

from __future__ import annotations

import functools
import io
import string
import sys
from typing import Any
from urllib.parse import urlparse

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.compat import get_current_datetime
from botocore.exceptions import NoCredentialsError
from jsonpath_ng import ext as jsonpath_ext
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict
from moto.core.common_models import BaseModel
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.core.request import Request as MotoRequest
from moto.moto_api._internal.moto_random import HEX_CHARS, MotoRandom

from localcloud import transport
from localcloud.patching import Kind, Patch


def _account_backend_fast_path(self: BackendDict[Any], account_id: str) -> None:
    # Once the account's backend exists (created and registered together, under moto's lock; a
    # reset empties the dict) there is nothing to lock for.
    if dict.__contains__(self, account_id):
        return
    _ACCOUNT_BACKEND.original(self, account_id)


def _untracked_model(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
    instance: BaseModel = super(BaseModel, cls).__new__(cls)
    return instance


@functools.cache
def _method_names(response_class: type) -> list[str]:
    """A class's methods are fixed once it is defined: listed once per class."""
    return list(_METHOD_NAMES.original(response_class))


def _sigv4_scope_only(self: SigV4Auth, request: Any) -> None:
    """Inside the mock, plain SigV4 requests get the same headers and scope but no signature.
    S3's and presigned variants, and any request made outside the mock (to real AWS from the
    same process), are signed as botocore signs them."""
    from moto.core.models import botocore_stubber

    if type(self) is not SigV4Auth or not botocore_stubber.enabled:
        _ADD_AUTH.original(self, request)
        return
    if self.credentials is None:
        raise NoCredentialsError()
    request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
    self._modify_request_before_signing(request)  # type: ignore[attr-defined]  # private: not in botocore-stubs
    request.headers["Authorization"] = transport.scope_only_authorization(self.scope(request))


def _request_from_primitives(
    cls: type[MotoRequest], method: str, url: str, headers: Any, body: Any = None
) -> MotoRequest:
    """For the plain case every JSON-protocol call is (POST to "/" over https, a bytes body, no
    query string, no S3 metadata headers) the WSGI environ EnvironBuilder would build, built
    directly; anything else goes the way moto takes it."""
    parsed = urlparse(url)
    if (
        method != "POST"
        or parsed.scheme != "https"
        or parsed.path != "/"
        or parsed.query
        or parsed.port is not None
        or not isinstance(body, bytes)
        or any(should_preserve_original_header_name(key) for key in headers)
    ):
        return _FROM_PRIMITIVES.original(cls, method, url, headers, body)  # type: ignore[no-any-return]  # Patch.original is untyped
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "REQUEST_URI": "/",
        "RAW_URI": "/",
        "SERVER_NAME": parsed.hostname,
        "SERVER_PORT": "443",
        "HTTP_HOST": parsed.netloc,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for key, value in headers.items():
        name = environ_key_for_header(key)
        if name in ("CONTENT_LENGTH", "HTTP_HOST", "HTTP_TRANSFER_ENCODING"):
            continue  # as EnvironBuilder: the length is the body's, the host the URL's
        environ[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {}
    return cls(environ)


def _random_string(self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    pool = string.ascii_letters + (string.digits if include_digits else "")
    text = "".join(self.choices(pool, k=length))
    return text.lower() if lower_case else text


_HEX_ALPHABET = "".join(map(str, HEX_CHARS))


def _random_hex(self: MotoRandom, length: int = 8) -> str:
    return "".join(self.choices(_HEX_ALPHABET, k=length))


# attr-defined: jsonpath_ng re-exports parse without __all__, which strict mypy does not follow.
_cached_ext_parse = functools.lru_cache(maxsize=1024)(jsonpath_ext.parse)  # type: ignore[attr-defined]


PATCHES = (
    _ACCOUNT_BACKEND := Patch(
        owner=BackendDict,
        name="_create_account_specific_backend",
        replacement=_account_backend_fast_path,
        kind=Kind.SPEED,
        why="moto takes a process-wide lock on every request just to check that the account's "
        "backend exists: with dozens of execution threads, a lock convoy. Skipped once it exists.",
    ),
    Patch(
        owner=BaseModel,
        name="__new__",
        replacement=_untracked_model,
        kind=Kind.SPEED,
        why="moto appends every model instance it makes (each item version, stream record, log "
        "event, message...) to its class's instances_tracked for its dashboard, and lets go only "
        "when the mock stops: behind `saga local up`, never. The local cloud tracks none.",
    ),
    _METHOD_NAMES := Patch(
        owner=moto_responses,
        name="method_names_from_class",
        replacement=_method_names,
        kind=Kind.SPEED,
        why="moto lists a response class's methods (inspect.getmembers) on every request to find "
        "the action's: ~8 % of a local GetItem. Listed once per class.",
    ),
    _ADD_AUTH := Patch(
        owner=SigV4Auth,
        name="add_auth",
        replacement=_sigv4_scope_only,
        kind=Kind.SPEED,
        why="botocore signs every request (canonical request, hashes, HMACs: ~15 % of a local "
        "call) and moto never checks a signature; it reads the access key and region from the "
        "credential scope. Inside the mock only the scope is written.",
    ),
    _FROM_PRIMITIVES := Patch(
        owner=MotoRequest,
        name="from_primitives",
        replacement=_request_from_primitives,
        kind=Kind.SPEED,
        why="moto builds each request through werkzeug's test-client EnvironBuilder (~15 % of a "
        "local DynamoDB call); a plain JSON-protocol call's environ is built directly, the same.",
    ),
    Patch(
        owner=MotoRandom,
        name="get_random_string",
        replacement=_random_string,
        kind=Kind.SPEED,
        why="moto draws a random string a character per call (52 for every request id): one call.",
    ),
    Patch(
        owner=MotoRandom,
        name="get_random_hex",
        replacement=_random_hex,
        kind=Kind.SPEED,
        why="As get_random_string, for hex strings.",
    ),
    Patch(
        owner=jsonpath_ext,
        name="parse",
        replacement=_cached_ext_parse,
        kind=Kind.SPEED,
        why="moto builds a JSONPath parser (a ply/yacc table) for every expression it evaluates, "
        "per EventBridge event delivered (input transformers); parsed expressions are immutable: cached.",
    ),
)
