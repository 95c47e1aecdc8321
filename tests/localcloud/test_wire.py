"""The local endpoint answers malformed requests with AWS's 4xx and error shape, and still serves real SDK calls.

Expected answers come from AWS's documentation: "Common Errors"
(docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html: IncompleteSignature 403,
UnknownOperationException 404; the RDS/CloudSearch API references: MissingAuthenticationToken 403)
and "Error handling with DynamoDB" (a JSON-protocol error is HTTP 400 with {"__type", "message"}).
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws, moto_api
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server
from werkzeug.test import Client, TestResponse

from localcloud import patches
from localcloud.wire import Wire
from localcloud.wire_bodies import MAX_INFLATED_BYTES, MAX_NESTING
from saga_console.serve import running

SCOPE = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=ab12"
JSON_10 = "application/x-amz-json-1.0"
JSON_11 = "application/x-amz-json-1.1"
SIGNING = {"DynamoDB_20120810": "dynamodb", "AWSEvents": "events", "AmazonSQS": "sqs", "AWSStepFunctions": "states"}
SIGNING |= {"AmazonSSM": "ssm", "Logs_20140328": "logs", "TrentService": "kms", "secretsmanager": "secretsmanager"}


@pytest.fixture
def app() -> Iterator[Wire]:
    patches.apply_patches()
    with mock_aws():
        yield Wire(DomainDispatcherApplication(create_backend_app))


def _post(
    app: Wire, target: str | None, body: bytes, *, auth: str | None = "", content_type: str = JSON_11
) -> TestResponse:
    headers = {"Content-Type": content_type}
    if target is not None:
        headers["X-Amz-Target"] = target
    if auth == "" and target is not None:
        auth = SCOPE.format(SIGNING[target.split(".")[0]])
    if auth:
        headers["Authorization"] = auth
    return Client(app).post("/", data=body, headers=headers)


def _json_error(response: TestResponse) -> tuple[int, str]:
    """The status and error code of a JSON-protocol error, as botocore reads it (header and body agree)."""
    body = json.loads(response.get_data())
    assert set(body) == {"__type", "message"}
    code = body["__type"].rpartition("#")[2]  # DynamoDB qualifies it; botocore reads what follows '#'
    assert response.headers["x-amzn-ErrorType"].split(":")[0] == code
    assert "json" in response.headers["Content-Type"]
    return response.status_code, code


def _detail(depth: int) -> str:
    return "[" * depth + "]" * depth


FINDING = [
    pytest.param("AWSEvents.PutEvents", b"\xff\xfe{}", (400, "SerializationException"), id="non-UTF-8 body"),
    pytest.param("AWSEvents.PutEvents", b'{"Entries":"x"}', (400, "SerializationException"), id="Entries not a list"),
    pytest.param("AWSEvents.PutEvents", b"[" * 100_000, (400, "SerializationException"), id="body nested 100,000 deep"),
    pytest.param(
        "DynamoDB_20120810.PutItem",
        b'{"TableName": "t", "Item": {"pk": {"S"',
        (400, "SerializationException"),
        id="truncated",
    ),
    pytest.param("DynamoDB_20120810.DropEverything", b"{}", (404, "UnknownOperationException"), id="unknown target"),
    pytest.param("AWSEvents.PutEvents", b'{"Entries": [', (400, "SerializationException"), id="truncated Entries"),
    pytest.param("DynamoDB_20120810.ListTables", b'{"Limit": NaN}', (400, "SerializationException"), id="NaN"),
    pytest.param(
        "DynamoDB_20120810.ListTables", b'{"Limit": -Infinity}', (400, "SerializationException"), id="Infinity"
    ),
    pytest.param("DynamoDB_20120810.ListTables", b'{"Limit": 1e999}', (400, "SerializationException"), id="1e999"),
    pytest.param("DynamoDB_20120810.ListTables", b"[]", (400, "SerializationException"), id="array body"),
    pytest.param("DynamoDB_20120810.ListTables", b"", (400, "SerializationException"), id="empty body"),
    pytest.param("DynamoDB_20120810.GetItem", b'{"Key": {}}', (400, "ValidationException"), id="required missing"),
    pytest.param("DynamoDB_20120810.ListTables", b'{"Limit": "9"}', (400, "SerializationException"), id="wrong type"),
    pytest.param(
        "DynamoDB_20120810.GetItem",
        b'{"TableName": "t", "Key": {"pk": {"B": "not base64!"}}}',
        (400, "SerializationException"),
        id="blob not base64",
    ),
    pytest.param(
        "AWSEvents.PutEvents",
        b'{"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "Time": "yesterday"}]}',
        (400, "SerializationException"),
        id="timestamp not epoch seconds",
    ),
]


@pytest.mark.parametrize(("target", "body", "expected"), FINDING)
def test_each_malformed_request_gets_the_documented_4xx_in_the_json_shape(
    app: Wire, target: str, body: bytes, expected: tuple[int, str]
) -> None:
    assert _json_error(_post(app, target, body)) == expected


def test_a_detail_nested_50000_deep_is_failed_alone_as_malformed_as_eventbridge_fails_it(app: Wire) -> None:
    # EventBridge API reference, "PutEventsResultEntry": MalformedDetail, "The JSON provided is not
    # valid", fails that entry; the rest are put. A Detail's depth is not the wire's (limits.py parses it).
    entries = [{"Source": "s", "DetailType": "d", "Detail": _detail(50_000)}, {"Source": "s", "DetailType": "d"}]
    entries[1]["Detail"] = "{}"
    response = _post(app, "AWSEvents.PutEvents", json.dumps({"Entries": entries}).encode())
    assert response.status_code == 200
    answered = json.loads(response.get_data())
    assert answered["FailedEntryCount"] == 1
    assert answered["Entries"][0]["ErrorCode"] == "MalformedDetail"
    assert "EventId" in answered["Entries"][1]


def test_a_truncated_put_events_puts_nothing_where_it_answered_200_with_no_entries(app: Wire) -> None:
    response = _post(app, "AWSEvents.PutEvents", b'{"Entries": [')
    assert response.status_code == 400
    assert b"FailedEntryCount" not in response.get_data()


def test_a_request_without_credentials_is_missing_its_authentication_token(app: Wire) -> None:
    assert _json_error(_post(app, "AWSEvents.PutEvents", b"{}", auth=None)) == (
        403,
        "MissingAuthenticationTokenException",
    )
    # No target: moto routed it to S3 and raised KeyError 'DEFAULT'; AWS's query protocol answers in XML
    plain = Client(app).get("/")
    assert plain.status_code == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in plain.get_data()
    assert b"<ErrorResponse>" in plain.get_data()


@pytest.mark.parametrize(
    "query",
    [
        "X-Amz-Signature=a&X-Amz-Credential=b",
        "AWSAccessKeyId=a&Signature=b",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k/20260101/us-east-1/s3/aws4_request"
        "&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab",
    ],
)
def test_moto_admin_api_is_served_to_nobody_whatever_the_query_says(
    app: Wire, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a web page's <img> (a GET: no Origin, no credentials) with made-up "presigned" parameters
    monkeypatch.setattr(moto_api.recorder, "_user_enabled", False)  # and put back as it was
    response = Client(app).get(f"/moto-api/recorder/start-recording?{query}")
    # Then moto's recorder, which would write every request body to a file, is not started:
    # AWS has no such API (it started, answering 200, before)
    assert response.status_code == 404
    assert moto_api.recorder._user_enabled is False
    assert Client(app).get(f"/moto-api/data.json?{query}").status_code == 404


def test_two_made_up_query_parameters_are_no_presigned_url_outside_s3(app: Wire) -> None:
    response = Client(app).post(
        "/?X-Amz-Signature=a&X-Amz-Credential=b", data=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"}
    )
    assert response.status_code == 403
    assert b"MissingAuthenticationToken" in response.get_data()


@pytest.mark.parametrize(
    ("auth", "target"),
    [
        pytest.param("Bearer abc", "DynamoDB_20120810.ListTables", id="not SigV4"),
        pytest.param("AWS4-HMAC-SHA256 Credential=x", "DynamoDB_20120810.ListTables", id="SigV4 cut short"),
        pytest.param(SCOPE.format("sqs"), "DynamoDB_20120810.ListTables", id="scoped to another service"),
        pytest.param(SCOPE.replace("us-east-1", "mars-north-9"), "DynamoDB_20120810.ListTables", id="no such region"),
    ],
)
def test_an_authorization_that_is_no_sigv4_or_is_scoped_elsewhere_is_an_incomplete_signature(
    app: Wire, auth: str, target: str
) -> None:
    assert _json_error(_post(app, target, b"{}", auth=auth)) == (403, "IncompleteSignatureException")


def test_a_scope_naming_a_service_moto_does_not_serve_is_refused_in_the_query_shape(app: Wire) -> None:
    response = Client(app).post("/", data=b"Action=X", headers={"Authorization": SCOPE.format("nosuchservice")})
    assert response.status_code == 403
    assert b"<Code>IncompleteSignature</Code>" in response.get_data()


def test_a_json_only_service_called_without_a_target_names_no_operation(app: Wire) -> None:
    response = Client(app).post("/", data=b"{}", headers={"Authorization": SCOPE.format("dynamodb")})
    assert _json_error(response) == (404, "UnknownOperationException")


def test_a_refusal_names_the_models_member_never_the_clients_key_or_value(app: Wire) -> None:
    body = {"TableName": "t", "Key": {"patient-p-1": {"S": 42}}}
    response = _post(app, "DynamoDB_20120810.GetItem", json.dumps(body).encode(), content_type=JSON_10)
    assert _json_error(response) == (400, "SerializationException")
    assert b"'Key'" in response.get_data()
    assert b"patient" not in response.get_data()
    assert b"42" not in response.get_data()


def test_nesting_up_to_the_limit_reaches_moto(app: Wire) -> None:
    # DynamoDB allows 32 levels of nested attributes: {"M": {"a": ...}} is two JSON levels each
    value: Any = {"S": "leaf"}
    for _ in range(32):
        value = {"M": {"a": value}}
    body = {"TableName": "missing", "Item": {"pk": value}}
    response = _post(app, "DynamoDB_20120810.PutItem", json.dumps(body).encode(), content_type=JSON_10)
    assert _json_error(response) == (400, "ResourceNotFoundException")  # moto's own answer: it got through
    deep = {"TableName": "missing", "Item": {"pk": json.loads("[" * MAX_NESTING + "]" * MAX_NESTING)}}
    assert (
        _json_error(_post(app, "DynamoDB_20120810.PutItem", json.dumps(deep).encode()))[1] == "SerializationException"
    )


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("scope", "body", "expected"),
    [
        pytest.param("cloudformation", b"Version=2010-05-15", "MissingAction", id="no Action"),
        pytest.param("cloudformation", b"Action=DropEverything", "InvalidAction", id="unknown Action"),
        pytest.param("sns", b"Action=Publish", "MissingParameter", id="required parameter missing"),
        pytest.param("sqs", b"Action=PurgeEverything", "InvalidAction", id="query-compatible JSON service"),
    ],
)
def test_a_query_call_naming_no_operation_or_missing_a_parameter_gets_the_query_errors(
    app: Wire, scope: str, body: bytes, expected: str
) -> None:
    # "Common Errors" of the query services (RDS API reference): MissingAction, InvalidAction and
    # MissingParameter are each HTTP 400; moto raised (500) on the first two and a KeyError on the last
    response = Client(app).post("/", data=body, headers={"Authorization": SCOPE.format(scope), "Content-Type": FORM})
    assert response.status_code == 400
    assert f"<Code>{expected}</Code>".encode() in response.get_data()


def test_a_gzip_body_is_read_inflated_and_one_that_does_not_inflate_is_malformed(app: Wire) -> None:
    headers = {"X-Amz-Target": "AWSEvents.PutEvents", "Authorization": SCOPE.format("events")}
    headers |= {"Content-Type": JSON_11, "Content-Encoding": "gzip"}
    body = json.dumps({"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}).encode()
    sent = Client(app).post("/", data=gzip.compress(body), headers=headers)
    assert sent.status_code == 200
    assert json.loads(sent.get_data())["FailedEntryCount"] == 0
    assert _json_error(Client(app).post("/", data=body, headers=headers)) == (400, "MalformedHttpRequestException")
    bomb = gzip.compress(b" " * (MAX_INFLATED_BYTES + 1))  # inflates past twice DynamoDB's request limit
    assert _json_error(Client(app).post("/", data=bomb, headers=headers)) == (413, "RequestEntityTooLargeException")


# --- real SDK clients over HTTP still pass through -----------------------------------------------------------------


@pytest.fixture
def endpoint(app: Wire) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with running(server):
        yield f"http://127.0.0.1:{server.server_port}"


def _client(endpoint: str, service: str) -> Any:
    # call-overload: a client of whichever service the test names, each test's calls its own.
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_sdk_calls_of_every_protocol_pass_through(endpoint: str) -> None:
    ddb = _client(endpoint, "dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"pk": {"S": "a"}, "sk": {"N": "1.5"}, "blob": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01"]}}
    ddb.put_item(TableName="t", Item=item)
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "1.5"}})["Item"] == item
    query = ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    assert query["Items"] == [item]

    put = _client(endpoint, "events").put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": '{"n": 1}'}])
    assert put["FailedEntryCount"] == 0

    sqs = _client(endpoint, "sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["hello"]

    ssm = _client(endpoint, "ssm")
    ssm.put_parameter(Name="/p", Value="v", Type="String")
    assert ssm.get_parameter(Name="/p")["Parameter"]["Value"] == "v"

    logs = _client(endpoint, "logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    logs.put_log_events(
        logGroupName="g", logStreamName="s", logEvents=[{"timestamp": 1_700_000_000_000, "message": "m"}]
    )

    role = _client(endpoint, "iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = _client(endpoint, "stepfunctions")
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    machine = sfn.create_state_machine(name="m", definition=definition, roleArn=role)["stateMachineArn"]
    assert sfn.start_execution(stateMachineArn=machine, name="e", input='{"a": [1]}')["executionArn"]

    assert _client(endpoint, "lambda").list_functions()["Functions"] == []  # rest-json: no target
    assert _client(endpoint, "cloudformation").list_stacks()["StackSummaries"] == []  # query protocol
    s3 = _client(endpoint, "s3")  # rest-xml
    s3.create_bucket(Bucket="wire-test")
    s3.put_object(Bucket="wire-test", Key="k", Body=b"\x00body")
    assert s3.get_object(Bucket="wire-test", Key="k")["Body"].read() == b"\x00body"
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": "wire-test", "Key": "k"})
    with urllib.request.urlopen(presigned, timeout=10) as response:  # no Authorization header: signed in the query
        assert response.read() == b"\x00body"


# --- fuzz: no bad request gets a 5xx --------------------------------------------------------------------------------

VALID_BODIES: dict[str, dict[str, Any]] = {
    "AWSEvents.PutEvents": {"Entries": [{"Source": "s", "DetailType": "d", "Detail": '{"n": 1}'}]},
    "DynamoDB_20120810.PutItem": {"TableName": "t", "Item": {"pk": {"S": "a"}, "b": {"B": "AAE="}, "n": {"N": "1"}}},
    "DynamoDB_20120810.GetItem": {"TableName": "t", "Key": {"pk": {"S": "a"}}},
    "DynamoDB_20120810.Query": {
        "TableName": "t",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "a"}},
    },
    "AmazonSQS.SendMessage": {"QueueUrl": "http://localhost/123456789012/q", "MessageBody": "m"},
    "AWSStepFunctions.StartExecution": {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"},
    "AmazonSSM.GetParameter": {"Name": "/p"},
    "Logs_20140328.PutLogEvents": {
        "logGroupName": "g",
        "logStreamName": "s",
        "logEvents": [{"timestamp": 1700000000000, "message": "m"}],
    },
    "TrentService.ListKeys": {},
    "secretsmanager.GetSecretValue": {"SecretId": "s"},
}

HEADER_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
"""What an HTTP header value can carry (latin-1, no line breaks)."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def bodies(draw: st.DrawFn, target: str) -> bytes:
    valid = _encoded(VALID_BODIES.get(target, {}))
    kind = draw(st.sampled_from(["bytes", "json", "truncated", "deep", "mutated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return _encoded(draw(json_values))
    if kind == "truncated":
        return valid[: draw(st.integers(0, len(valid)))]
    if kind == "deep":
        depth = draw(st.integers(1, 5000))
        return draw(st.sampled_from([b"[" * depth, b'{"a":' * depth + b"1" + b"}" * depth]))
    mutated = dict(VALID_BODIES.get(target, {}))
    mutated[draw(st.sampled_from([*mutated, "x"]))] = draw(json_values)
    return _encoded(mutated)


OTHER_SCOPES = ["s3", "lambda", "cloudformation", "sts", "iam", "sns", "monitoring", "nosuchservice"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    target = draw(
        st.sampled_from([*VALID_BODIES, "AWSEvents.Nope", "Nope.PutEvents", "", "."])
        | st.text(HEADER_TEXT, max_size=30)
    )
    headers = {"X-Amz-Target": target} if draw(st.booleans()) or target in VALID_BODIES else {}
    signing = SIGNING.get(target.split(".")[0], "dynamodb")
    scope = st.sampled_from([signing, signing, *OTHER_SCOPES]).map(SCOPE.format)
    auth = draw(scope | st.none() | st.text(HEADER_TEXT, max_size=40).map(str.strip))
    if auth:
        headers["Authorization"] = auth
    content_type = draw(
        st.sampled_from([JSON_10, JSON_11, "application/json", "application/x-www-form-urlencoded", None])
    )
    if content_type:
        headers["Content-Type"] = content_type
    return headers, draw(bodies(target))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_no_malformed_request_gets_a_server_error_and_every_4xx_has_the_aws_shape(
    app: Wire, request: tuple[dict[str, str], bytes]
) -> None:
    headers, body = request
    response = Client(app).post("/", data=body, headers=headers)  # JSON-protocol services: all on the root
    assert response.status_code < 500, response.get_data()[:300]
    if response.status_code >= 400:
        data = response.get_data()
        if data.lstrip().startswith(b"<"):
            assert b"<Code>" in data
        else:
            error = json.loads(data)
            assert "__type" in error or "x-amzn-ErrorType" in response.headers
