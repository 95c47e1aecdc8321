"""The in-process transport answers exactly as moto answers over botocore's HTTP path."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.endpoint import Endpoint
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import botocore_stubber

from localcloud import patches, transport
from localcloud.patches import BY_ID
from tests.fakes import queue_for_source
from tests.localcloud.pins import pins

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Scenario = Callable[[], list[Any]]


@pytest.fixture
def aws() -> Iterator[None]:
    patches.apply_patches()
    with mock_aws():
        yield


def _without_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_metadata(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_without_metadata(v) for v in value]
    return value


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return _without_metadata(call())
    except ClientError as error:
        return {"raised": type(error).__name__, "response": _without_metadata(error.response)}


def _dynamodb() -> list[Any]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    item: dict[str, AttributeValueTypeDef] = {
        "pk": {"S": "a"},
        "sk": {"N": "1"},
        "blob": {"B": b"\x00\x01"},
        "tags": {"SS": ["x", "y"]},
    }
    absent = "attribute_not_exists(pk)"
    return [
        _outcome(lambda: ddb.put_item(TableName="t", Item=item, ConditionExpression=absent)),
        _outcome(
            lambda: ddb.put_item(
                TableName="t", Item=item, ConditionExpression=absent, ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        ),
        _outcome(
            lambda: ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": "t",
                            "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}},
                            "ConditionExpression": absent,
                        }
                    },
                    {"Put": {"TableName": "t", "Item": item, "ConditionExpression": absent}},
                ]
            )
        ),
        _outcome(lambda: ddb.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})),
        _outcome(
            lambda: ddb.query(
                TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
            )
        ),
        _outcome(lambda: ddb.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}})),
        _outcome(lambda: ddb.get_item(TableName="missing", Key={"pk": {"S": "a"}})),
        _outcome(lambda: ddb.describe_table(TableName="t")["Table"]["KeySchema"]),
    ]


def _queues_and_events() -> list[Any]:
    sqs, url = queue_for_source("eu-west-1", "q", "s")
    events = boto3.client("events", region_name="eu-west-1")
    put = events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": '{"n": 1}'}])
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    return [
        url,
        put["FailedEntryCount"],
        [json.loads(m["Body"])["detail"] for m in received],
        _outcome(lambda: sqs.get_queue_url(QueueName="nope")),
    ]


@pytest.mark.parametrize("scenario", [_dynamodb, _queues_and_events], ids=["dynamodb", "sqs+events"])
def test_answers_match_the_http_path(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    patches.apply_patches()
    calls = []
    spy = transport._call

    def counted(*args: Any) -> Any:
        calls.append(args[1].name)
        return spy(*args)

    monkeypatch.setattr(transport, "_call", counted)
    with mock_aws():
        in_process = scenario()
    assert calls, "the calls took the in-process transport"

    monkeypatch.setattr(transport, "_in_process", lambda client, operation: False)
    with mock_aws():
        over_http = scenario()

    assert in_process == over_http


def test_the_credential_scope_carries_the_region_moto_reads(aws: None) -> None:
    # moto's SQS takes the region from the Authorization header only
    url = boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="q")["QueueUrl"]
    assert "eu-west-1" in url
    assert boto3.client("sqs", region_name="eu-west-1").list_queues()["QueueUrls"] == [url]
    assert "QueueUrls" not in boto3.client("sqs", region_name="us-east-1").list_queues()


THROTTLED = (
    400,
    {"Content-Type": "application/x-amz-json-1.0"},
    json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow down"}),
)


def _throttled_first(times: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """moto answers `times` calls with a throttling error first; the URLs it was sent, in order."""
    sent: list[str] = []
    answer = botocore_stubber.process_request

    def process(request: Any) -> Any:
        sent.append(request.url)
        return THROTTLED if len(sent) <= times else answer(request)

    monkeypatch.setattr(botocore_stubber, "process_request", process)
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)
    return sent


def _list_tables_throttled(times: int, in_process: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, Any]:
    """ListTables with moto throttling the first `times` attempts: attempts sent, and the outcome."""
    with monkeypatch.context() as patch:
        if not in_process:
            patch.setattr(transport, "_in_process", lambda client, operation: False)
        with mock_aws():
            # retries: three besides the first attempt (botocore's `max_attempts` counts retries)
            config = Config(retries={"mode": "standard", "max_attempts": 3})
            ddb = boto3.client("dynamodb", region_name="us-east-1", config=config)
            sent = _throttled_first(times, patch)
            outcome: Any  # the answer, or the error's response: compared whole
            try:
                outcome = ddb.list_tables()
            except ClientError as error:
                outcome = {"raised": error.response}
    for response in (outcome, outcome.get("raised", {})):
        for varies in ("RequestId", "HTTPHeaders"):  # a fresh request id and date each time
            response.get("ResponseMetadata", {}).pop(varies, None)
    return len(sent), outcome


@pytest.mark.parametrize("throttled", [1, 5])
def test_a_retryable_answer_is_retried_as_botocore_retries_it(throttled: int, monkeypatch: pytest.MonkeyPatch) -> None:
    patches.apply_patches()
    in_process = _list_tables_throttled(throttled, True, monkeypatch)
    over_http = _list_tables_throttled(throttled, False, monkeypatch)

    assert in_process == over_http
    attempts, outcome = in_process
    if throttled == 1:
        assert attempts == 2
        assert outcome["TableNames"] == []
        assert outcome["ResponseMetadata"]["RetryAttempts"] == 1
    else:
        assert attempts == 4, "the first attempt and three retries"
        assert outcome["raised"]["Error"]["Code"] == "ThrottlingException"
        assert outcome["raised"]["ResponseMetadata"]["MaxAttemptsReached"] is True


@pins("core.BaseClient._make_request")
def test_other_protocols_and_calls_outside_the_mock_take_botocores_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore's own path: an HTTP request through the client's endpoint, which moto answers
    assert "self._endpoint.make_request(" in inspect.getsource(BY_ID["core.BaseClient._make_request"].original)
    patches.apply_patches()
    original: list[str] = []
    make_request = Endpoint.make_request

    def spy(endpoint: Endpoint, operation_model: Any, request_dict: Any) -> Any:
        original.append(operation_model.name)
        return make_request(endpoint, operation_model, request_dict)

    monkeypatch.setattr(Endpoint, "make_request", spy)
    with mock_aws():
        boto3.client("lambda", region_name="us-east-1").list_functions()  # REST
        boto3.client("dynamodb", region_name="us-east-1").list_tables()  # JSON: in-process
    assert original == ["ListFunctions"]

    stub = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(retries={"max_attempts": 1}, connect_timeout=0.2),
    )
    with pytest.raises(Exception, match="Could not connect"):
        stub.list_tables()  # no mock: botocore really sends it
    assert original == ["ListFunctions", "ListTables"]
