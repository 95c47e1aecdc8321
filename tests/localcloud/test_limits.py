"""The local endpoint refuses what AWS refuses, and never answers a bad request with HTTP 500.

Expected values from AWS's documentation: EventBridge user guide ("Calculating PutEvents event
entry size", PutEventsResultEntry's error codes), the 1 MB limit of the AWS compute blog post of
2026-01-29, SQS's 1 MiB message size, Step Functions' 262,144-byte input and 80-character names,
the errors of the Step Functions SendTaskSuccess API (InvalidOutput) and of Lambda's Invoke API
(InvalidRequestContentException: "The request body could not be parsed as JSON"). What is JSON
is RFC 8259's: `NaN`, `Infinity` and `-Infinity` are not, though Python's parser takes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.inprocess import InProcess
from infra import names
from lambdas import contract
from tests.localcloud.pins import moto_own, pins

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef, PutEventsResponseTypeDef
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

MIB = 1024 * 1024
NOT_JSON_NUMBERS = ("NaN", "Infinity", "-Infinity")
"""What Python's json takes for numbers and RFC 8259 does not."""
DEEP = 50_000
"""Deeper than Python's parser can follow (its recursion limit), well within every size limit."""


def _put(cloud: InProcess, *entries: PutEventsRequestEntryTypeDef) -> PutEventsResponseTypeDef:
    bus = cloud.outputs[names.OUTPUT_EVENT_BUS]
    return cloud.client("events").put_events(Entries=[{"EventBusName": bus, **e} for e in entries])


def _order_event(detail: str) -> PutEventsRequestEntryTypeDef:
    return {"Source": contract.ORDER_SOURCE, "DetailType": contract.ORDER_DETAIL_TYPE, "Detail": detail}


@pytest.mark.parametrize(
    "detail",
    [
        "42",
        '"an order"',
        "[1, 2]",
        "null",
        "true",
        "{not json",
        *(f'{{"order_id": "o-1", "metadata": {{"weight": {n}}}}}' for n in NOT_JSON_NUMBERS),
        pytest.param('{"a": ' * DEEP + "1" + "}" * DEEP, id="nested-50000-deep"),
    ],
)
def test_a_detail_that_is_not_a_json_object_is_refused_alone_as_malformed(cloud: InProcess, detail: str) -> None:
    # The JSON string once answered HTTP 500 as it reached the OrderCreated rule; 42 was accepted.
    response = _put(cloud, _order_event(detail), {"Source": "tests.limits", "DetailType": "Fine", "Detail": "{}"})
    assert response["FailedEntryCount"] == 1
    refused, accepted = response["Entries"]
    assert refused == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert "EventId" in accepted, "the other entry of the request is put"


def test_an_aws_service_source_is_not_for_custom_events(cloud: InProcess) -> None:
    response = _put(
        cloud, {"Source": "aws.states", "DetailType": "Step Functions Execution Status Change", "Detail": "{}"}
    )
    assert response["Entries"] == [
        {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
    ]


def test_entries_over_one_mebibyte_in_all_are_refused_as_eventbridge_counts_them(cloud: InProcess) -> None:
    source, detail_type = "tests.limits", "Large"
    envelope = len(source) + len(detail_type) + len('{"x":""}')
    # Given entries of exactly 1 MiB in all, counted as EventBridge counts them (UTF-8 bytes; "é" is two)
    padding = "é" * ((MIB - envelope) // 2) + "a" * ((MIB - envelope) % 2)
    exact: PutEventsRequestEntryTypeDef = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps({"x": padding}, ensure_ascii=False, separators=(",", ":")),
    }
    assert _put(cloud, exact)["FailedEntryCount"] == 0
    # When one byte more is sent, the whole request is refused
    over: PutEventsRequestEntryTypeDef = {
        **exact,
        "Detail": json.dumps({"x": padding + "a"}, ensure_ascii=False, separators=(",", ":")),
    }
    with pytest.raises(ClientError) as refused:
        _put(cloud, over)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_message_over_the_queues_size_in_utf8_bytes_is_refused(cloud: InProcess) -> None:
    sqs = cloud.client("sqs")
    queue = cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE]
    # 600 KiB characters, 1.2 MiB of UTF-8: within moto's character count, over AWS's byte count
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=queue, MessageBody="é" * (600 * 1024))
    assert "Message must be shorter than 1048576 bytes" in str(refused.value)
    sqs.send_message(QueueUrl=queue, MessageBody="a" * MIB)
    # the attributes count too, and a batch counts as all its messages together
    attributes: dict[str, MessageAttributeValueTypeDef] = {"pad": {"DataType": "String", "StringValue": "a" * 1024}}
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=queue, MessageBody="a" * (MIB - 1000), MessageAttributes=attributes)
    # 1.2 MiB of UTF-8
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": str(n), "MessageBody": "é" * (200 * 1024)} for n in range(3)
    ]
    with pytest.raises(ClientError) as too_long:
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert "BatchRequestTooLong" in str(too_long.value)


@pytest.mark.parametrize(
    ("name", "execution_input", "code"),
    [
        ("too-big", json.dumps({"order_id": "x", "pad": "a" * 262_144}), "ValidationException"),
        ("not-json", "{order", "InvalidExecutionInput"),
        *((f"not-json-{n}", f'{{"order_id": "x", "n": {n}}}', "InvalidExecutionInput") for n in NOT_JSON_NUMBERS),
        pytest.param("too-deep", "[" * DEEP + "]" * DEEP, "InvalidExecutionInput", id="nested-50000-deep"),
        ("a" * 81, "{}", "InvalidName"),
        ("has space", "{}", "InvalidName"),
        ("has:colon", "{}", "InvalidName"),
        ("has/slash", "{}", "InvalidName"),
    ],
)
def test_start_execution_refuses_what_step_functions_refuses(
    cloud: InProcess, name: str, execution_input: str, code: str
) -> None:
    sfn = cloud.client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE], name=name, input=execution_input)
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# Floats include NaN and ±Infinity, which json.dumps writes as tokens JSON does not have.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_details = _json.map(json.dumps) | st.text(max_size=40)


@pytest.mark.allow_errors("UnusableMessage", "BatchProcessingError")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detail=_details, source=st.sampled_from(["tests.fuzz", contract.ORDER_SOURCE]))
def test_no_put_events_detail_gets_a_server_error(cloud: InProcess, detail: str, source: str) -> None:
    # OrderCreated entries go to the start queue and the saga starter: an object without a usable
    # order id is poison (dead-lettered), with one it is rejected; nothing answers HTTP 500.
    detail_type = "Fuzz" if source == "tests.fuzz" else contract.ORDER_DETAIL_TYPE
    status = 200
    response: Mapping[str, Any] = {}
    try:
        response = _put(cloud, {"Source": source, "DetailType": detail_type, "Detail": detail})
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
    assert status < 500
    if status != 200:
        return
    [entry] = response["Entries"]
    assert "EventId" in entry or entry["ErrorCode"] in {"MalformedDetail", "InvalidArgument"}


def _invoke_recording(cloud: InProcess, payload: bytes) -> tuple[list[Any], Mapping[str, Any]]:
    """Invoke the projector with `payload`, its handler replaced by one that records its event:
    (the events the handler got, the response or the error AWS gave)."""
    received: list[Any] = []
    handler = names.handler_path(names.PROJECTOR)
    cloud.local.runtime.replacements[handler] = lambda event, context: received.append(event)
    functions = cloud.client("lambda").list_functions()["Functions"]
    function = next(f["FunctionName"] for f in functions if f["Handler"] == handler)
    try:
        response = cloud.client("lambda").invoke(FunctionName=function, Payload=payload)
        return received, response
    except ClientError as error:
        return received, dict(error.response)
    finally:
        del cloud.local.runtime.replacements[handler]


@pins("awslambda.LambdaFunction.invoke")
@pytest.mark.parametrize(
    "payload",
    [
        *(f'{{"weight": {n}}}'.encode() for n in NOT_JSON_NUMBERS),
        b"{not json",
    ],
)
def test_an_invoke_payload_that_is_not_json_is_refused_before_the_handler_runs(
    cloud: InProcess, payload: bytes
) -> None:
    received, response = _invoke_recording(cloud, payload)
    assert response["Error"]["Code"] == "InvalidRequestContentException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert received == []
    # moto's own hands NaN to the handler as a float (or answers HTTP 500): the gap the patch closes
    if payload.startswith(b'{"weight"'):
        with moto_own("awslambda.LambdaFunction.invoke"):
            received, _ = _invoke_recording(cloud, payload)
        assert [type(event["weight"]) for event in received] == [float]


@pins("stepfunctions.StepFunctionsParserBackend.send_task_success")
@pytest.mark.parametrize("output", [*(f'{{"verified": {n}}}' for n in NOT_JSON_NUMBERS), "{not json"])
def test_a_task_output_that_is_not_json_is_refused(cloud: InProcess, output: str) -> None:
    sfn = cloud.client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken="a-token-no-task-has", output=output)
    assert refused.value.response["Error"]["Code"] == "InvalidOutput"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # moto's own looks for the task whatever the output (and finds none)
    with moto_own("stepfunctions.StepFunctionsParserBackend.send_task_success"), pytest.raises(ClientError) as moto:
        sfn.send_task_success(taskToken="a-token-no-task-has", output=output)
    assert moto.value.response["Error"]["Code"] == "InvalidToken"


@pins("events.EventPatternParser.parse")
@pytest.mark.parametrize(
    "pattern",
    [
        *(f'{{"detail": {{"weight": [{{"numeric": [">", {n}]}}]}}}}' for n in NOT_JSON_NUMBERS),
        pytest.param('{"detail": ' * DEEP + '{"a": [1]}' + "}" * DEEP, id="nested-50000-deep"),
    ],
)
def test_an_event_pattern_that_is_not_json_is_refused(cloud: InProcess, pattern: str) -> None:
    events = cloud.client("events")
    bus = cloud.outputs[names.OUTPUT_EVENT_BUS]
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="not-json", EventBusName=bus, EventPattern=pattern)
    assert refused.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "not-json" not in [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]]
    # moto's own takes NaN and Infinity as numbers (and fails on the deep one with a RecursionError)
    if "numeric" in pattern:
        with moto_own("events.EventPatternParser.parse"):
            events.put_rule(Name="not-json", EventBusName=bus, EventPattern=pattern)
        assert "not-json" in [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]]
