"""Each moto gap the local cloud patches: still a gap in the pinned moto, and closed by the patch.

If one of the "still a gap" tests fails after a moto upgrade, moto changed: drop or adjust
that patch in localcloud/patches.py rather than keep patching blindly.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.events.models import EventBus
from moto.sqs.models import Queue
from moto.stepfunctions.models import stepfunctions_backends
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localcloud import patches
from localcloud.deploy import UnsupportedResource, check_resource_types
from tests.concurrency import at_once
from tests.fakes import create_events_table, queue_for_source


@pytest.fixture
def aws() -> Iterator[None]:
    patches.apply_patches()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def test_the_patches_target_the_pinned_moto() -> None:
    assert moto.__version__ == patches.MOTO_VERSION


def test_moto_still_runs_lambda_in_docker_and_the_runtime_replaces_it() -> None:
    original = inspect.getsource(patches.ORIGINALS["LambdaFunction._invoke_lambda"])
    assert "docker" in original
    patches.apply_patches()
    assert LambdaFunction._invoke_lambda is patches._invoke_in_process


def test_moto_event_bus_still_lacks_a_physical_id_and_the_patch_gives_its_name() -> None:
    assert patches.ORIGINALS["EventBus.physical_resource_id"] is None
    patches.apply_patches()
    bus = EventBus.__new__(EventBus)
    bus.name = "my-bus"  # type: ignore[attr-defined]
    assert bus.physical_resource_id == "my-bus"  # type: ignore[attr-defined]


def _table(dynamodb: Any, stream: bool = False) -> None:
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}} if stream else {}
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def _stack(resource: dict[str, Any]) -> str:
    return json.dumps({"Resources": {"Thing": resource}})


def test_moto_archive_still_wants_a_string_pattern_and_the_patch_accepts_cloudformation_objects(aws: None) -> None:
    events = boto3.client("events", region_name="us-east-1")
    bus_arn = events.create_event_bus(Name="b")["EventBusArn"]
    properties = {"SourceArn": bus_arn, "EventPattern": {"source": ["x"]}}
    with pytest.raises(Exception):  # noqa: B017, PT011 - moto fails in its own way on an object pattern
        patches.ORIGINALS["Archive.create_from_cloudformation_json"](
            "plain-archive", {"Properties": dict(properties)}, "123456789012", "us-east-1"
        )
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    long_name_stack = "S" * 40
    cloudformation.create_stack(
        StackName=long_name_stack, TemplateBody=_stack({"Type": "AWS::Events::Archive", "Properties": properties})
    )
    [archive] = events.list_archives()["Archives"]
    assert len(archive["ArchiveName"]) <= 48


def test_moto_still_creates_state_machines_where_they_cannot_run_and_the_patch_moves_them(aws: None) -> None:
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    resource = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"DefinitionString": json.dumps(definition), "RoleArn": "arn:aws:iam::123456789012:role/r"},
    }
    original = patches.ORIGINALS["StateMachine.create_from_cloudformation_json"]
    original("m1", resource, "123456789012", "us-east-1")
    assert [m.name for m in stepfunctions_backends["123456789012"]["us-east-1"].state_machines] == ["m1"]
    boto3.client("cloudformation", region_name="us-east-1").create_stack(StackName="s", TemplateBody=_stack(resource))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    [machine] = sfn.list_state_machines()["stateMachines"]
    assert machine["stateMachineArn"] in {
        m.arn for m in stepfunctions_parser_backends["123456789012"]["us-east-1"].state_machines
    }
    run = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] in {"RUNNING", "SUCCEEDED"}


def test_moto_retries_still_sleep_for_real_and_the_patch_scales_them() -> None:
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl.RetrierDecl._eval_body)
    assert patches.ORIGINALS["retrier_decl.time"].__name__ == "time"
    patches.apply_patches()
    assert isinstance(retrier_decl.time, patches._ScaledTime)  # type: ignore[attr-defined]


def test_moto_still_delivers_sqs_to_lambda_inline_so_the_local_cloud_polls_instead() -> None:
    # Inline delivery inside SendMessage ignores partial batch responses; pollers replace it.
    assert "send_sqs_batch" in inspect.getsource(Queue.add_message)


def test_an_unsupported_resource_type_stops_the_deployment_by_name() -> None:
    template = {"Resources": {"Global": {"Type": "AWS::DynamoDB::GlobalTable"}}}
    with pytest.raises(UnsupportedResource, match=r"Global of type AWS::DynamoDB::GlobalTable"):
        check_resource_types(template)


def test_a_rule_target_whose_deliveries_are_not_authorised_locally_is_refused() -> None:
    patches.apply_patches()
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {"Targets": [{"Id": "f", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]},
            },
        }
    }
    with pytest.raises(UnsupportedResource, match="SQS queues only"):
        check_resource_types(template)


def test_the_types_moto_skips_are_created_locally_not_skipped() -> None:
    # moto's CloudFormation skips these with a warning; the local cloud creates them (and enforces the policies).
    patches.apply_patches()
    skipped_by_moto = (
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Events::EventBusPolicy",
        "AWS::CloudWatch::Alarm",
    )
    from moto.cloudformation.parsing import get_model_map

    motos_own = {t for t, model in get_model_map().items() if not model.__module__.startswith("localcloud")}
    assert not set(skipped_by_moto) & motos_own, "moto still has no CloudFormation model for them"
    template = {"Resources": {t.split("::")[-1]: {"Type": t} for t in skipped_by_moto}}
    assert check_resource_types(template) == []
    assert set(skipped_by_moto) <= patches.supported_resource_types()


def test_moto_still_builds_a_client_per_task_and_the_patch_reuses_one() -> None:
    assert "return boto3.client(" in inspect.getsource(patches.ORIGINALS["boto_client_for"])
    patches.apply_patches()
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    first = lambda_eval_utils.boto_client_for("us-east-1", "lambda")  # type: ignore[attr-defined]
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is first  # type: ignore[attr-defined]


def test_moto_still_parses_the_definition_per_execution_and_the_patch_parses_it_once() -> None:
    original = inspect.getsource(patches.ORIGINALS["ExecutionWorker._get_evaluation_entrypoint"])
    assert "AmazonStateLanguageParser.parse(" in original
    from moto.stepfunctions.parser.asl.parse import asl_parser

    definition = json.dumps(
        {
            "StartAt": "Try",
            "States": {
                "Try": {
                    "Type": "Pass",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                    "End": True,
                }
            },
        }
    )
    worker = SimpleNamespace(
        _evaluation_details=SimpleNamespace(state_machine_details=SimpleNamespace(definition=definition))
    )
    parses: list[str] = []
    real_parse = asl_parser.AmazonStateLanguageParser.parse
    patches._syntax_tree.cache_clear()

    def counted_parse(definition: str) -> Any:
        parses.append(definition)
        return real_parse(definition)

    with mock.patch.object(asl_parser.AmazonStateLanguageParser, "parse", counted_parse):
        first = patches._evaluation_entrypoint(worker)  # type: ignore[arg-type]
        second = patches._evaluation_entrypoint(worker)  # type: ignore[arg-type]
    assert parses == [definition]
    # Each execution still gets components of its own, of the kind moto builds.
    assert first is not second
    assert type(first) is type(real_parse(definition)[0])
    starts = [program.start_at.start_at_name for program in (first, second)]  # type: ignore[attr-defined]
    assert starts == ["Try", "Try"]


def test_moto_still_locks_every_backend_lookup_and_the_patch_skips_it_once_created() -> None:
    original = inspect.getsource(patches.ORIGINALS["BackendDict._create_account_specific_backend"])
    assert "with backend_lock:" in original
    patches.apply_patches()
    with mock_aws():
        boto3.client("sqs", region_name="us-east-1").list_queues()
        from moto.sqs.models import sqs_backends

        assert dict.__contains__(sqs_backends, "123456789012")
        assert sqs_backends["123456789012"]["us-east-1"] is not None


def test_moto_dynamodb_transactions_still_copy_whole_tables_and_the_patch_checks_then_writes(aws: None) -> None:
    from localcloud import moto_dynamodb

    assert "copy.deepcopy(" in inspect.getsource(moto_dynamodb.ORIGINAL_TRANSACT_WRITE_ITEMS)
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _table(dynamodb, stream=True)
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "taken"}})
    new_only = "attribute_not_exists(pk)"
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "fresh"}}, "ConditionExpression": new_only}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "taken"}}, "ConditionExpression": new_only}},
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert [i["pk"]["S"] for i in dynamodb.scan(TableName="t")["Items"]] == ["taken"], "nothing written"
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends["123456789012"]["us-east-1"].get_table("t").stream_shard
    assert shard is not None
    assert [r.record["dynamodb"]["Keys"]["pk"]["S"] for r in shard.items] == ["taken"], "no stream record of it"


def test_concurrent_conditional_puts_let_exactly_one_win(aws: None) -> None:
    import threading

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _table(dynamodb)
    wins: list[int] = []

    def put(n: int) -> None:
        try:
            dynamodb.put_item(
                TableName="t",
                Item={"pk": {"S": "one"}, "n": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            wins.append(n)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=put, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


def test_the_fast_dynamodb_serializer_answers_as_moto_does(aws: None) -> None:
    from localcloud import moto_dynamodb

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _table(dynamodb)
    item = {
        "pk": {"S": "a"},
        "n": {"N": "1.50"},
        "b": {"B": b"\x00\x01"},
        "l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]},
        "m": {"M": {"k": {"SS": ["p", "q"]}}},
    }
    dynamodb.put_item(TableName="t", Item=item)
    fast = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    fast_query = dynamodb.query(
        TableName="t", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
    )
    moto_dynamodb.DynamoHandler.serialized = moto_dynamodb.ORIGINAL_SERIALIZED  # type: ignore[attr-defined,method-assign]
    try:
        slow = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
        slow_query = dynamodb.query(
            TableName="t", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
        )
    finally:
        moto_dynamodb.apply()
    assert fast == slow == item
    for answer in (fast_query, slow_query):
        answer.pop("ResponseMetadata")
    assert fast_query == slow_query


def test_moto_sqs_still_walks_every_message_for_attributes_and_the_patch_defers_the_counts(aws: None) -> None:
    from moto.sqs.models import Queue

    assert "def attributes" in inspect.getsource(Queue)
    assert "get_queue_attributes(" in inspect.getsource(
        patches.ORIGINALS["SQSBackend.is_message_valid_based_on_retention_period"]
    )
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    fifo = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    for _ in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.send_message(QueueUrl=fifo["QueueUrl"], MessageBody="y", MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "3"
    assert attributes["VisibilityTimeout"] == "7"
    fifo_attributes = sqs.get_queue_attributes(QueueUrl=fifo["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert fifo_attributes["ContentBasedDeduplication"] == "true"
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 3


def test_moto_still_builds_a_jsonpath_parser_per_expression_and_the_patch_caches_them() -> None:
    from moto.events import utils as event_utils

    assert "from jsonpath_ng.ext import parse" in inspect.getsource(event_utils.EventTemplateParser.parse)
    patches.apply_patches()
    from jsonpath_ng import ext

    assert ext.parse("$.detail") is ext.parse("$.detail")  # type: ignore[attr-defined]


def test_moto_still_emits_no_execution_status_change_and_the_patch_does(aws: None) -> None:
    assert "put_events" not in inspect.getsource(patches.ORIGINALS["BaseExecutionWorkerCommunication.terminated"])
    sqs, url = queue_for_source("us-east-1", "status", "aws.states")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E"}}}
    machine = sfn.create_state_machine(
        name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )
    sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1")
    import time as clock

    for _ in range(200):
        got = sqs.receive_message(QueueUrl=url).get("Messages", [])
        if got:
            break
        clock.sleep(0.01)
    [message] = got
    detail = json.loads(message["Body"])["detail"]
    assert (detail["name"], detail["status"]) == ("run-1", "FAILED")


def test_powertools_still_shares_pending_metrics_between_metrics_objects() -> None:
    # Why the runtime gives each invocation thread its own pending metrics (localcloud/powertools_metrics.py).
    from aws_lambda_powertools import Metrics

    first, second = Metrics(namespace="One"), Metrics(namespace="Two")
    try:
        first.add_metric(name="Shared", unit="Count", value=1)
        assert "Shared" in second.provider.metric_set
    finally:
        first.provider.clear_metrics()


def test_concurrent_invocations_flush_only_their_own_metrics() -> None:
    import threading

    from lambdas.observability import metrics
    from localcloud import powertools_metrics

    powertools_metrics.pending_metrics_per_thread("lambdas")
    flushed: dict[str, list[str]] = {}
    names = ("Started", "Completed")
    added = threading.Barrier(2)

    def invocation(n: int) -> None:
        metric = names[n]
        metrics.add_metric(name=metric, unit="Count", value=1)
        added.wait()  # both have a pending metric before either flushes
        emf = metrics.serialize_metric_set()
        flushed[metric] = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        metrics.provider.clear_metrics()

    at_once(2, invocation)
    assert flushed == {"Started": ["Started"], "Completed": ["Completed"]}


def _stream_table(dynamodb: Any) -> None:
    create_events_table(dynamodb)
    for stream in ("a", "b", "c"):
        for version in (3, 1, 2, 10):
            dynamodb.put_item(TableName="events", Item={"pk": {"S": stream}, "sk": {"N": str(version)}})


def test_moto_still_queries_by_scanning_the_whole_table_and_the_patch_reads_one_partition(aws: None) -> None:
    from moto.dynamodb.models.table import Table

    from localcloud import moto_dynamodb

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _stream_table(dynamodb)
    scanned: list[int] = []

    def counting_all_items(self: Table) -> Any:
        items = moto_dynamodb.ORIGINAL_ALL_ITEMS(self)
        scanned.append(len(items))
        return items

    Table.query, Table.all_items = moto_dynamodb.ORIGINAL_QUERY, counting_all_items  # type: ignore[method-assign]
    try:
        dynamodb.query(
            TableName="events", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
        )
    finally:
        moto_dynamodb.apply()
    assert scanned == [12], "every partition read to answer a query of one"
    request = {
        "TableName": "events",
        "KeyConditionExpression": "pk = :a",
        "ExpressionAttributeValues": {":a": {"S": "a"}},
    }
    _, _, read = _with_and_without_the_patch(dynamodb, request)
    assert read == [4], "with the patch, the queried partition only"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"ScanIndexForward": False},
        {"Limit": 2},
        {
            "KeyConditionExpression": "pk = :a AND sk > :v",
            "ExpressionAttributeValues": {":a": {"S": "b"}, ":v": {"N": "1"}},
        },
        {"ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "2"}}},
    ],
)
def test_a_query_of_one_partition_answers_as_moto_does(aws: None, query: dict[str, Any]) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _stream_table(dynamodb)
    request = {
        "TableName": "events",
        "KeyConditionExpression": "pk = :a",
        "ExpressionAttributeValues": {":a": {"S": "b"}},
        "ConsistentRead": True,
        **query,
    }
    fast, slow, _ = _with_and_without_the_patch(dynamodb, request)
    assert fast == slow
    assert fast["Items"], "the query found something to compare"


def _with_and_without_the_patch(dynamodb: Any, request: dict[str, Any]) -> tuple[Any, Any, list[int]]:
    """A query's answer with the patch, moto's own answer, and how many items the patched query read."""
    from moto.dynamodb.models.table import Table

    from localcloud import moto_dynamodb

    read: list[int] = []

    def counting_patched(self: Table) -> Any:
        items = moto_dynamodb._all_items(self)
        read.append(len(items))
        return items

    Table.all_items = counting_patched  # type: ignore[method-assign]
    try:
        fast = dynamodb.query(**request)
    finally:
        moto_dynamodb.apply()
    Table.query, Table.all_items = moto_dynamodb.ORIGINAL_QUERY, moto_dynamodb.ORIGINAL_ALL_ITEMS  # type: ignore[method-assign]
    try:
        slow = dynamodb.query(**request)
    finally:
        moto_dynamodb.apply()
    for answer in (fast, slow):
        answer.pop("ResponseMetadata")
    return fast, slow, read


def _state_table(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="sagas",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "state", "AttributeType": "S"},
            {"AttributeName": "updated_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-state",
                "KeySchema": [
                    {"AttributeName": "state", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(12):
        item = {"order_id": {"S": f"o-{n}"}, "updated_at": {"S": f"2026-01-01T00:00:{n:02d}"}}
        if n % 4:  # every fourth has no state: not in the (sparse) index
            item["state"] = {"S": ("COMPLETED", "FAILED", "COMPLETED")[n % 4 - 1]}
        dynamodb.put_item(TableName="sagas", Item=item)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"ScanIndexForward": False, "Limit": 2},
        {"Select": "COUNT"},
        {
            "KeyConditionExpression": "#s = :s AND updated_at < :t",
            "ExpressionAttributeValues": {":s": {"S": "COMPLETED"}, ":t": {"S": "2026-01-01T00:00:07"}},
        },
        {
            "ExclusiveStartKey": {
                "order_id": {"S": "o-2"},
                "state": {"S": "COMPLETED"},
                "updated_at": {"S": "2026-01-01T00:00:02"},
            }
        },
    ],
)
def test_an_index_query_reads_its_partition_and_answers_as_moto_does(aws: None, query: dict[str, Any]) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _state_table(dynamodb)
    request = {
        "TableName": "sagas",
        "IndexName": "by-state",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":s": {"S": "COMPLETED"}},
        **query,
    }
    fast, slow, read = _with_and_without_the_patch(dynamodb, request)
    assert read == [6], "the COMPLETED partition of the index only"
    assert fast == slow
    assert fast["Count"], "the query found something to compare"


def test_moto_still_lists_a_response_class_methods_per_request_and_the_patch_lists_them_once() -> None:
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    original = patches.ORIGINALS["method_names_from_class"]
    assert "getmembers" in inspect.getsource(original)
    assert original(DynamoHandler) is not original(DynamoHandler)
    patches.apply_patches()
    listed = responses.method_names_from_class  # type: ignore[attr-defined]
    assert listed(DynamoHandler) is listed(DynamoHandler)
    assert sorted(listed(DynamoHandler)) == sorted(original(DynamoHandler))


def _sent_headers(client: Any) -> list[dict[str, str]]:
    """The headers of each request `client` sends, as they leave botocore for moto (bytes, decoded)."""
    sent: list[dict[str, str]] = []
    client.meta.events.register_first(
        "before-send",
        lambda request, **_: sent.append(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        ),
    )
    return sent


def test_botocore_still_signs_every_request_and_the_patch_leaves_only_the_scope_inside_the_mock(aws: None) -> None:
    assert "self.signature(" in inspect.getsource(patches.ORIGINALS["SigV4Auth.add_auth"])
    # JSON-protocol calls skip the HTTP hop (tests/localcloud/test_transport.py); SNS speaks Query
    sns = boto3.client("sns", region_name="eu-west-1")
    sent = _sent_headers(sns)
    arn = sns.create_topic(Name="scoped")["TopicArn"]
    assert sent[-1]["Authorization"].endswith("Signature=not-computed-locally")
    assert "/eu-west-1/sns/aws4_request" in sent[-1]["Authorization"]
    # what moto reads from the header is still there: the account (from the access key)
    assert arn == "arn:aws:sns:eu-west-1:123456789012:scoped"


def test_outside_the_mock_requests_are_still_signed() -> None:
    from botocore.awsrequest import AWSRequest

    patches.apply_patches()
    client = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
    )
    request = AWSRequest(method="POST", url="https://sqs.us-east-1.amazonaws.com/", data=b"{}")
    client._request_signer.sign("ListQueues", request)
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "not-computed-locally" not in authorization


def test_moto_sqs_still_reads_the_clock_per_message_and_the_patch_reads_it_once(aws: None) -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import sqs_backends

    assert "message.visible and not message.delayed" in inspect.getsource(patches.ORIGINALS["Queue.messages"].fget)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    for number in range(30):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in got] == [str(n) for n in range(10)]
    queue = sqs_backends["123456789012"]["us-east-1"].get_queue("deep")
    assert (queue.approximate_number_of_messages, queue.approximate_number_of_messages_not_visible) == (20, 10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])  # a repeat is a no-op, as on AWS
    assert len(queue._messages) == 30  # 29 left of the first 30, and the delayed one
    with pytest.raises(ReceiptHandleIsInvalid):
        queue.delete_message("not-a-handle")
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in rest] == [str(n) for n in range(10, 20)]


def test_moto_still_tracks_every_model_instance_it_makes_and_the_patch_tracks_none(aws: None) -> None:
    from moto.core.common_models import BaseModel
    from moto.sqs.models import Message

    patches.ORIGINALS["BaseModel.__new__"](Message, "id", "body")
    tracked = list(Message.instances_tracked)  # type: ignore[attr-defined]
    assert tracked, "moto keeps a made model in its class's list, for as long as the mock runs"
    assert BaseModel.__new__ is not patches.ORIGINALS["BaseModel.__new__"]
    made = Message("id", "body")
    assert made not in Message.instances_tracked  # type: ignore[attr-defined]
    assert (made.id, made.body) == ("id", "body")


def test_moto_still_draws_random_strings_a_character_at_a_time_and_the_patch_draws_them_at_once() -> None:
    from moto.moto_api._internal import mock_random

    assert "for i in range(length)" in inspect.getsource(patches.ORIGINALS["MotoRandom.get_random_string"])
    patches.apply_patches()
    request_id = mock_random.get_random_string(length=52)
    assert len(request_id) == 52
    assert request_id.isalnum()
    assert mock_random.get_random_string(12, include_digits=False, lower_case=True).isalpha()
    assert set(mock_random.get_random_hex(64)) <= set("0123456789abcdef")


_JSON_CALL_HEADERS = {
    "X-Amz-Target": b"DynamoDB_20120810.GetItem",
    "Content-Type": b"application/x-amz-json-1.0",
    "Content-Length": "99",  # EnvironBuilder takes the body's length, not the header's
    "Authorization": b"AWS4-HMAC-SHA256 Credential=testing/20261126/us-east-1/dynamodb/aws4_request",
    "User-Agent": b"Boto3/1.44",
    "amz-sdk-invocation-id": b"abc",
    "Transfer-Encoding": b"chunked",
}


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [
        ("POST", "https://dynamodb.us-east-1.amazonaws.com/", _JSON_CALL_HEADERS, b'{"TableName": "t"}'),
        ("POST", "https://sqs.eu-west-1.amazonaws.com/", {"X-Amz-Target": b"AmazonSQS.ListQueues"}, b"{}"),
        # not the plain case: moto's own way
        ("GET", "https://s3.amazonaws.com/bucket/a%2Fkey?list-type=2", {"x-amz-meta-my_key": "v"}, None),
        ("POST", "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f/invocations", {}, b"{}"),
    ],
)
def test_moto_still_builds_each_request_with_werkzeugs_test_client_and_the_patch_builds_the_same(
    method: str, url: str, headers: dict[str, Any], body: bytes | None
) -> None:
    from moto.core.request import Request

    original = patches.ORIGINALS["Request.from_primitives"].__func__
    assert "from_values(" in inspect.getsource(original)
    patches.apply_patches()
    fast, slow = Request.from_primitives(method, url, headers, body), original(Request, method, url, headers, body)

    def environ(request: Any) -> dict[str, Any]:
        return {k: v for k, v in request.environ.items() if k not in ("wsgi.input", "werkzeug.request")}

    assert environ(fast) == environ(slow)
    assert (fast.get_data(), fast.raw_url, fast.raw_path, fast.method) == (
        slow.get_data(),
        slow.raw_url,
        slow.raw_path,
        slow.method,
    )
    assert sorted(fast.headers.items()) == sorted(slow.headers.items())
    assert fast.form == slow.form
    assert fast.args == slow.args


def test_the_local_cloud_builds_motos_lambda_router_before_a_burst_can_race_to_build_it() -> None:
    # moto builds it on first use without a lock; concurrent builds compile ASTs at once, which
    # CPython 3.11 can fail (python/cpython#106905): a valid order's first task failed in a burst.
    from moto.core import routing

    from localcloud.cloud import LocalCloud

    assert "self._routers[protocol] = " in inspect.getsource(routing.ServiceOperationRouter._get_router)
    assert "Lock" not in inspect.getsource(routing.ServiceOperationRouter)
    routing.get_service_router.cache_clear()
    with LocalCloud.start():
        assert "rest-json" in routing.get_service_router("lambda")._routers
