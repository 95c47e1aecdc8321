"""Who may reach `saga local up` and `saga console`: Host, Origin, and off loopback the token (saga_console/guard.py).

The AWS side is driven by real botocore clients whose requests are handed, signed as botocore
signs them, to the guard in front of moto's own server app (what `saga local up` serves), with
the caller's address set as a network neighbour's would be.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from moto import moto_api
from moto.core.botocore_stubber import MockRawResponse
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from saga_cli.local import endpoint_app
from saga_console.guard import COOKIE, Exposure, Guard
from saga_console.signatures import ACCESS_KEY_ID

SIGNED_ANYHOW = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
"""What a page can put in a call on loopback: a made-up signature, which the local cloud does not check."""
NEIGHBOUR = "198.51.100.7"
"""An address of another machine (TEST-NET-2, RFC 5737): never reached, only named as a caller."""
PORT = 4566
TOKEN = "a-token-of-thirty-two-characters"
REGION = "eu-west-3"
"""A region no other test of this worker writes in: moto's backends are shared by the process."""


def _ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"reached"]


def _get(exposure: Exposure, path: str, headers: dict[str, str], remote: str = "127.0.0.1") -> Any:
    return Client(Guard(_ok, exposure)).get(path, headers=headers, environ_base={"REMOTE_ADDR": remote})


LOOPBACK = Exposure("127.0.0.1", PORT)


# --- Host: a DNS-rebinding page names its own domain -----------------------------------------------


@pytest.mark.parametrize("path", ["/console/sagas", "/"])
def test_a_host_that_is_no_loopback_name_is_refused_before_anything_runs(path: str) -> None:
    # Given a page on rebind.evil.example whose name now resolves to 127.0.0.1
    response = _get(LOOPBACK, path, {"Host": f"rebind.evil.example:{PORT}"})
    # Then neither the console nor the AWS APIs answer it
    assert response.status_code == 403
    assert b"reached" not in response.data


@pytest.mark.parametrize("host", ["localhost:4566", "127.0.0.1:4566", "[::1]:4566", "my-bucket.localhost:4566"])
def test_loopback_names_are_answered(host: str) -> None:
    assert _get(LOOPBACK, "/console/sagas", {"Host": host}).data == b"reached"


def test_bound_to_all_addresses_any_address_literal_is_answered_but_no_other_name() -> None:
    everywhere = Exposure("0.0.0.0", PORT, token=TOKEN)
    assert _get(everywhere, "/", {"Host": f"192.0.2.10:{PORT}"}).data == b"reached"
    assert _get(everywhere, "/", {"Host": f"[2001:db8::1]:{PORT}"}).data == b"reached"
    assert _get(everywhere, "/", {"Host": f"rebind.evil.example:{PORT}"}).status_code == 403


def test_bound_to_one_address_only_that_address_and_loopback_are_answered() -> None:
    one = Exposure("192.0.2.10", PORT, token=TOKEN)
    assert _get(one, "/", {"Host": f"192.0.2.10:{PORT}"}).data == b"reached"
    assert _get(one, "/", {"Host": f"192.0.2.99:{PORT}"}).status_code == 403


# --- Origin: pages of other origins -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/redrive", "/"])
@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "http://evil.example", "null", "http://localhost:4567"])
def test_a_foreign_origin_is_refused_on_the_console_and_the_aws_apis(path: str, origin: str) -> None:
    response = _get(LOOPBACK, path, {"Host": f"127.0.0.1:{PORT}", "Origin": origin})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("origin", ["http://127.0.0.1:4566", "http://localhost:4566", "http://[::1]:4566"])
def test_the_listeners_own_origins_are_answered(origin: str) -> None:
    assert _get(LOOPBACK, "/console/redrive", {"Host": f"127.0.0.1:{PORT}", "Origin": origin}).data == b"reached"


def test_an_origin_named_with_allow_origin_is_answered() -> None:
    allowing = Exposure("127.0.0.1", PORT, origins=("http://localhost:3000/",))
    assert _get(allowing, "/", {"Host": f"127.0.0.1:{PORT}", "Origin": "http://localhost:3000"}).data == b"reached"
    assert _get(allowing, "/", {"Host": f"127.0.0.1:{PORT}", "Origin": "http://localhost:3001"}).status_code == 403


def test_a_foreign_referer_is_refused_on_the_aws_apis_but_a_link_into_the_console_is_followed() -> None:
    headers = {"Host": f"127.0.0.1:{PORT}", "Referer": "http://evil.example/page"}
    assert _get(LOOPBACK, "/", headers).status_code == 403
    assert _get(LOOPBACK, "/console/sagas/order-1", headers).data == b"reached"


IMG = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
"""What Chromium sends with an <img> of a page on another loopback port: no Origin, and no Referer under
referrerpolicy=no-referrer (Fetch Metadata Request Headers)."""


@pytest.mark.parametrize("path", ["/moto-api/recorder/start-recording", "/console/redrive", "/my-bucket/key"])
@pytest.mark.parametrize(
    "fetched",
    [IMG, {**IMG, "Sec-Fetch-Site": "cross-site"}, {**IMG, "Sec-Fetch-Dest": "iframe", "Sec-Fetch-Mode": "navigate"}],
)
def test_what_a_page_of_another_site_fetches_without_an_origin_is_refused(path: str, fetched: dict[str, str]) -> None:
    response = _get(LOOPBACK, path, {"Host": f"127.0.0.1:{PORT}", **fetched})
    assert response.status_code == 403
    assert b"reached" not in response.data


def test_moto_recorder_is_not_started_by_an_image_of_another_page(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given what saga local up serves, and an <img> whose URL names two made-up "presigned" parameters
    monkeypatch.setattr(moto_api.recorder, "_user_enabled", False)
    url = "/moto-api/recorder/start-recording?X-Amz-Signature=a&X-Amz-Credential=b"
    response = Client(Guard(endpoint_app(_ok), LOOPBACK)).get(url, headers={"Host": f"127.0.0.1:{PORT}", **IMG})
    # Then moto's recorder (every request body written to a file) stays off
    assert response.status_code == 403
    assert moto_api.recorder._user_enabled is False


@pytest.mark.parametrize(
    "fetched",
    [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # a link
        {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # typed, bookmarked
        {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},  # its live refresh
        {},  # a client that is no browser
    ],
)
def test_a_link_followed_a_typed_address_the_consoles_own_fetches_and_other_clients_are_answered(
    fetched: dict[str, str],
) -> None:
    assert _get(LOOPBACK, "/console/sagas", {"Host": f"127.0.0.1:{PORT}", **fetched}).data == b"reached"


ALLOWING = Exposure("127.0.0.1", PORT, origins=("http://localhost:3000",))


def test_an_allowed_origin_is_told_it_may_call_and_may_read_the_answer() -> None:
    # Given saga local up --allow-origin http://localhost:3000 (what it serves, moto behind Wire)
    client = Client(Guard(endpoint_app(_ok), ALLOWING))
    asked = {
        "Host": f"127.0.0.1:{PORT}",
        "Origin": "http://localhost:3000",
        "Sec-Fetch-Site": "same-site",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-target",
    }
    # When its page's browser asks first (CORS preflight: no credentials)
    preflight = client.options("/", headers=asked)
    # Then it may send that call (Fetch standard: the origin, the method and each requested header allowed)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-amz-date", "x-amz-target"} <= allowed
    # And the call's answer is readable by that origin alone
    call = client.post(
        "/",
        data=b"{}",
        headers={
            "Host": f"127.0.0.1:{PORT}",
            "Origin": "http://localhost:3000",
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": SIGNED_ANYHOW,
        },
    )
    assert call.status_code == 200
    assert call.headers.getlist("Access-Control-Allow-Origin") == ["http://localhost:3000"]
    assert "x-amzn-requestid" in call.headers["Access-Control-Expose-Headers"]


def test_a_same_origin_call_gets_no_cors_headers_and_the_console_none_for_an_allowed_origin() -> None:
    client = Client(Guard(_ok, ALLOWING))
    same = client.get("/", headers={"Host": f"127.0.0.1:{PORT}", "Origin": f"http://127.0.0.1:{PORT}"})
    console = client.get("/console/sagas", headers={"Host": f"127.0.0.1:{PORT}", "Origin": "http://localhost:3000"})
    for answer in (same, console):
        assert answer.data == b"reached"
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_a_refusal_page_carries_the_consoles_headers() -> None:
    refused = _get(LOOPBACK, "/console/sagas", {"Host": f"127.0.0.1:{PORT}", "Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    assert refused.headers["X-Frame-Options"] == "DENY"


def test_a_cors_preflight_from_a_foreign_origin_gets_no_allowance_from_moto() -> None:
    # Given what saga local up serves: moto answers every preflight by echoing its Origin (flask-cors)
    app = Guard(endpoint_app(_ok), LOOPBACK)
    preflight = {
        "Host": f"127.0.0.1:{PORT}",
        "Origin": "http://127.0.0.1:8000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-amz-target",
    }
    # When a page of another loopback port asks whether it may call DynamoDB
    response = Client(app).options("/", headers=preflight)
    # Then it is told no: no Access-Control-Allow-* header, so the browser sends nothing
    assert response.status_code == 403
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-allow")]


# --- off loopback: the console's token ----------------------------------------------------------------

EVERYWHERE = Exposure("0.0.0.0", PORT, token=TOKEN)


def test_off_loopback_a_token_is_required() -> None:
    with pytest.raises(ValueError, match="token"):
        Exposure("0.0.0.0", PORT)


def test_a_neighbour_without_the_token_is_not_shown_the_console() -> None:
    response = _get(EVERYWHERE, "/console/sagas/order-1", {"Host": f"192.0.2.10:{PORT}"}, remote=NEIGHBOUR)
    assert response.status_code == 401
    assert b"reached" not in response.data
    wrong = _get(EVERYWHERE, "/console/sagas?token=guess", {"Host": f"192.0.2.10:{PORT}"}, remote=NEIGHBOUR)
    assert wrong.status_code == 401


def test_the_token_in_the_url_becomes_a_strict_cookie_and_leaves_the_address_bar() -> None:
    client = Client(Guard(_ok, EVERYWHERE))
    environ = {"REMOTE_ADDR": NEIGHBOUR}
    headers = {"Host": f"192.0.2.10:{PORT}"}
    # When the neighbour opens the address the command printed
    first = client.get(f"/console/sagas?state=failed&token={TOKEN}", headers=headers, environ_base=environ)
    # Then it is sent on without the token in the URL, holding a cookie scripts cannot read
    assert first.status_code == 303
    assert first.headers["Location"] == "/console/sagas?state=failed"
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={TOKEN};")
    assert {"HttpOnly", "SameSite=Strict", "Path=/console"} <= {part.strip() for part in cookie.split(";")}
    # And the next page is served on the cookie alone
    assert client.get("/console/sagas", headers=headers, environ_base=environ).data == b"reached"


def test_a_caller_on_this_machine_needs_no_token_as_on_loopback() -> None:
    assert _get(EVERYWHERE, "/console/sagas", {"Host": f"127.0.0.1:{PORT}"}, remote="127.0.0.1").data == b"reached"


# --- off loopback: the AWS APIs take SigV4 with the token as the secret ------------------------------


def _route_to(app: Any, remote: str) -> Callable[..., AWSResponse]:
    """botocore's before-send hook: hand the signed request to `app` as if it came from `remote`."""
    client = Client(app)

    def send(request: Any, **kwargs: Any) -> AWSResponse:
        parts = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        answer = client.open(
            parts.path,
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method,
            headers=headers,
            data=body,
            environ_base={"REMOTE_ADDR": remote},
        )
        # arg-type: botocore reads the headers by key; the stubs name its HTTPHeaders class.
        headers = dict(answer.headers)
        return AWSResponse(request.url, answer.status_code, headers, MockRawResponse(answer.get_data()))  # type: ignore[arg-type]

    return send


@pytest.fixture
def aws_client() -> Callable[..., Any]:
    moto = Guard(endpoint_app(_ok), EVERYWHERE)  # what saga local up serves, less its start-up gate

    def make(
        service: str, key: str = ACCESS_KEY_ID, secret: str = TOKEN, unsigned: bool = False, app: Any = None
    ) -> Any:
        config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1}) if unsigned else None
        # call-overload: a client of whichever service the test names.
        client = boto3.client(  # type: ignore[call-overload]
            service,
            region_name=REGION,
            endpoint_url=f"http://192.0.2.10:{PORT}",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=config or Config(retries={"max_attempts": 1}),
        )
        client.meta.events.register("before-send", _route_to(app or moto, NEIGHBOUR))
        return client

    return make


def test_a_neighbour_signing_with_the_token_reaches_each_protocol(aws_client: Callable[..., Any]) -> None:
    # JSON (DynamoDB, Step Functions), query (CloudFormation), REST-JSON (Lambda), REST-XML (S3)
    assert "TableNames" in aws_client("dynamodb").list_tables()
    assert "stateMachines" in aws_client("stepfunctions").list_state_machines()
    assert "StackSummaries" in aws_client("cloudformation").list_stacks()
    assert "Functions" in aws_client("lambda").list_functions()
    s3 = aws_client("s3")
    bucket = f"guard-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    try:
        s3.put_object(Bucket=bucket, Key="a key/with spaces+plus", Body=b"x" * 10)
        assert s3.get_object(Bucket=bucket, Key="a key/with spaces+plus")["Body"].read() == b"x" * 10
    finally:
        s3.delete_object(Bucket=bucket, Key="a key/with spaces+plus")
        s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize(
    ("credentials", "json_code", "query_code"),
    [
        ({"secret": "not-the-token"}, "InvalidSignatureException", "SignatureDoesNotMatch"),
        ({"key": "AKIAIOSFODNN7EXAMPLE"}, "UnrecognizedClientException", "InvalidClientTokenId"),
        ({"unsigned": True}, "MissingAuthenticationTokenException", "MissingAuthenticationToken"),
    ],
)
def test_a_neighbour_without_the_token_is_refused_as_aws_refuses(
    aws_client: Callable[..., Any], credentials: dict[str, Any], json_code: str, query_code: str
) -> None:
    # A JSON-protocol service and a query-protocol one each read the refusal in their own shape
    with pytest.raises(ClientError) as refused:
        aws_client("dynamodb", **credentials).list_tables()
    assert refused.value.response["Error"]["Code"] == json_code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as refused:
        aws_client("cloudformation", **credentials).list_stacks()
    assert refused.value.response["Error"]["Code"] == query_code


def test_a_signature_older_than_fifteen_minutes_is_refused(aws_client: Callable[..., Any]) -> None:
    late = Guard(_ok, EVERYWHERE, clock=lambda: datetime.now(UTC) + timedelta(minutes=16))
    with pytest.raises(ClientError) as refused:
        aws_client("dynamodb", app=late).list_tables()
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "Signature expired" in refused.value.response["Error"]["Message"]


@settings(max_examples=150, deadline=None)
@given(
    authorization=st.one_of(
        st.text(),
        st.builds(
            lambda key, signed, signature: (
                f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/dynamodb/aws4_request, "
                f"SignedHeaders={signed}, Signature={signature}"
            ),
            st.sampled_from([ACCESS_KEY_ID, "testing", ""]),
            st.from_regex(r"[a-z0-9;_.-]{1,40}", fullmatch=True),
            st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        ),
    ),
    amz_date=st.one_of(st.text(max_size=20), st.just("20260101T000000Z")),
    body=st.binary(max_size=200),
    path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30),
)
def test_no_signature_a_neighbour_makes_up_gets_past_the_guard_or_breaks_it(
    authorization: str, amz_date: str, body: bytes, path: str
) -> None:
    headers = {"Host": f"192.0.2.10:{PORT}", "Authorization": authorization, "X-Amz-Date": amz_date}
    for value in (authorization, amz_date):  # only what an HTTP header can carry
        assume(not set(value) & {"\r", "\n", "\x00"})
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            assume(False)
    response = Client(Guard(_ok, EVERYWHERE)).post(
        "/" + path.lstrip("/"), headers=headers, data=body, environ_base={"REMOTE_ADDR": NEIGHBOUR}
    )
    assert response.status_code in (400, 403)
    assert b"reached" not in response.data


def test_a_signed_chunked_request_keeps_its_body_for_the_signature_and_for_moto() -> None:
    # Given a neighbour's call signed by botocore's signer, sent with Transfer-Encoding: chunked
    body = b"{}"
    request = AWSRequest(
        method="POST",
        url=f"http://192.0.2.10:{PORT}/",
        data=body,
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(Credentials(ACCESS_KEY_ID, TOKEN), "dynamodb", REGION).add_auth(request)
    headers = list(request.headers.items())
    environ = EnvironBuilder(
        "/",
        base_url=f"http://192.0.2.10:{PORT}",
        method="POST",
        headers=headers,
        environ_base={"REMOTE_ADDR": NEIGHBOUR},
    ).get_environ()
    # What a server hands the app for a chunked body: no length, a stream that ends where the body does
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
    answer, status, _ = run_wsgi_app(Guard(endpoint_app(_ok), EVERYWHERE), environ)
    content = b"".join(answer)
    # Then the signature matches and moto answers the call
    assert status.startswith("200"), content
    assert "TableNames" in json.loads(content)
