"""Each moto gap the local cloud patches: still a gap in the pinned moto, and closed by the patch.

If one of the "still a gap" tests fails after a moto upgrade, moto changed: drop or adjust that
patch (`python -m localcloud.patches` says where each is declared) rather than keep patching
blindly. Also: the declarations themselves (each says why, each is pinned, each comes out as it
went in), and the docs' list of them.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
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
from localcloud.patches import BY_ID
from localcloud.patches import stepfunctions as sfn_patches
from localcloud.patches import stepfunctions_engine as sfn_engine
from localcloud.patching import MISSING
from tests.concurrency import at_once
from tests.fakes import create_events_table, queue_for_source
from tests.localcloud.pins import moto_own, pins

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, CreateTableInputTypeDef
    from mypy_boto3_lambda.type_defs import LoggingConfigTypeDef


@pytest.fixture
def aws() -> Iterator[None]:
    patches.apply_patches()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def test_the_patches_target_the_pinned_moto() -> None:
    assert moto.__version__ == patches.MOTO_VERSION


@pins("awslambda.LambdaFunction._invoke_lambda")
def test_moto_still_runs_lambda_in_docker_and_the_runtime_replaces_it() -> None:
    patch = BY_ID["awslambda.LambdaFunction._invoke_lambda"]
    assert "docker" in inspect.getsource(patch.original)
    patches.apply_patches()
    assert LambdaFunction._invoke_lambda is patch.installed


@pins("events.EventBus.physical_resource_id")
def test_moto_event_bus_still_lacks_a_physical_id_and_the_patch_gives_its_name() -> None:
    assert BY_ID["events.EventBus.physical_resource_id"].found is MISSING
    patches.apply_patches()
    bus = EventBus.__new__(EventBus)
    bus.name = "my-bus"  # type: ignore[attr-defined]  # set by __init__, skipped here
    assert bus.physical_resource_id == "my-bus"  # type: ignore[attr-defined]  # the patch adds it


def _table(dynamodb: DynamoDBClient, stream: bool = False) -> None:
    table: CreateTableInputTypeDef = {
        "TableName": "t",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if stream:
        table["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    dynamodb.create_table(**table)


def _stack(resource: dict[str, Any]) -> str:
    return json.dumps({"Resources": {"Thing": resource}})


@pins("events.Archive.create_from_cloudformation_json")
def test_moto_archive_still_wants_a_string_pattern_and_the_patch_accepts_cloudformation_objects(aws: None) -> None:
    from moto.events.models import Archive

    events = boto3.client("events", region_name="us-east-1")
    bus_arn = events.create_event_bus(Name="b")["EventBusArn"]
    properties = {"SourceArn": bus_arn, "EventPattern": {"source": ["x"]}}
    with pytest.raises(Exception):  # noqa: B017, PT011 - moto fails in its own way on an object pattern
        BY_ID["events.Archive.create_from_cloudformation_json"].original(
            Archive, "plain-archive", {"Properties": dict(properties)}, "123456789012", "us-east-1"
        )
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    long_name_stack = "S" * 40
    cloudformation.create_stack(
        StackName=long_name_stack, TemplateBody=_stack({"Type": "AWS::Events::Archive", "Properties": properties})
    )
    [archive] = events.list_archives()["Archives"]
    assert len(archive["ArchiveName"]) <= 48


@pins("stepfunctions.StateMachine.create_from_cloudformation_json")
def test_moto_still_creates_state_machines_where_they_cannot_run_and_the_patch_moves_them(aws: None) -> None:
    from moto.stepfunctions.models import StateMachine

    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    resource = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"DefinitionString": json.dumps(definition), "RoleArn": "arn:aws:iam::123456789012:role/r"},
    }
    original = BY_ID["stepfunctions.StateMachine.create_from_cloudformation_json"].original
    original(StateMachine, "m1", resource, "123456789012", "us-east-1")
    assert [m.name for m in stepfunctions_backends["123456789012"]["us-east-1"].state_machines] == ["m1"]
    boto3.client("cloudformation", region_name="us-east-1").create_stack(StackName="s", TemplateBody=_stack(resource))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    [machine] = sfn.list_state_machines()["stateMachines"]
    assert machine["stateMachineArn"] in {
        m.arn for m in stepfunctions_parser_backends["123456789012"]["us-east-1"].state_machines
    }
    run = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] in {"RUNNING", "SUCCEEDED"}


@pins("stepfunctions.retrier_decl.time")
def test_moto_retries_still_sleep_for_real_and_the_patch_scales_them() -> None:
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl.RetrierDecl._eval_body)
    assert BY_ID["stepfunctions.retrier_decl.time"].original.__name__ == "time"
    patches.apply_patches()
    assert isinstance(retrier_decl.time, sfn_patches._ScaledTime)  # type: ignore[attr-defined]  # the patch adds it


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


@pins("cloudformation.parsing.get_model_list", "cloudformation.parsing.get_model_map")
@pins("cloudformation.parsing.get_name_type_map")
def test_the_types_moto_skips_are_created_locally_not_skipped() -> None:
    # moto's CloudFormation skips these with a warning; the local cloud creates them (and enforces the policies).
    patches.apply_patches()
    skipped_by_moto = (
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Events::EventBusPolicy",
        "AWS::CloudWatch::Alarm",
    )
    from moto.cloudformation import parsing

    with moto_own(
        "cloudformation.parsing.get_model_list",
        "cloudformation.parsing.get_model_map",
        "cloudformation.parsing.get_name_type_map",
    ):
        assert not set(skipped_by_moto) & set(parsing.get_model_map()), "moto still has no model for them"
        assert not set(skipped_by_moto) & {model.cloudformation_type() for model in parsing.get_model_list()}
        assert not set(skipped_by_moto) & set(parsing.get_name_type_map())
    template = {"Resources": {t.split("::")[-1]: {"Type": t} for t in skipped_by_moto}}
    assert check_resource_types(template) == []
    assert set(skipped_by_moto) <= patches.supported_resource_types()
    assert parsing.resource_name_property_from_type("AWS::CloudWatch::Alarm") == "AlarmName"
    assert parsing.resource_class_from_type("AWS::SQS::QueuePolicy").__module__ == "localcloud.access.resource_policies"


@pins("stepfunctions.lambda_eval_utils.boto_client_for")
def test_moto_still_builds_a_client_per_task_and_the_patch_reuses_one() -> None:
    original = BY_ID["stepfunctions.lambda_eval_utils.boto_client_for"].original
    assert "return boto3.client(" in inspect.getsource(original)
    patches.apply_patches()
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    first = lambda_eval_utils.boto_client_for("us-east-1", "lambda")  # type: ignore[attr-defined]  # the patch adds it
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is first  # type: ignore[attr-defined]  # the patch adds it


@pins("stepfunctions.ExecutionWorker._get_evaluation_entrypoint")
def test_moto_still_parses_the_definition_per_execution_and_the_patch_parses_it_once() -> None:
    original = inspect.getsource(BY_ID["stepfunctions.ExecutionWorker._get_evaluation_entrypoint"].original)
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
    sfn_engine.syntax_tree.cache_clear()

    def counted_parse(definition: str) -> Any:
        parses.append(definition)
        return real_parse(definition)

    with mock.patch.object(asl_parser.AmazonStateLanguageParser, "parse", counted_parse):
        first = sfn_engine.evaluation_entrypoint(worker)  # type: ignore[arg-type]  # a stand-in worker
        second = sfn_engine.evaluation_entrypoint(worker)  # type: ignore[arg-type]  # a stand-in worker
    assert parses == [definition]
    # Each execution still gets components of its own, of the kind moto builds.
    assert first is not second
    assert type(first) is type(real_parse(definition)[0])
    starts = [program.start_at.start_at_name for program in (first, second)]  # type: ignore[attr-defined]  # moto's Program
    assert starts == ["Try", "Try"]


@pins("core.BackendDict._create_account_specific_backend")
def test_moto_still_locks_every_backend_lookup_and_the_patch_skips_it_once_created() -> None:
    original = inspect.getsource(BY_ID["core.BackendDict._create_account_specific_backend"].original)
    assert "with backend_lock:" in original
    patches.apply_patches()
    with mock_aws():
        boto3.client("sqs", region_name="us-east-1").list_queues()
        from moto.sqs.models import sqs_backends

        assert dict.__contains__(sqs_backends, "123456789012")
        assert sqs_backends["123456789012"]["us-east-1"] is not None


@pins("dynamodb.DynamoDBBackend.transact_write_items")
def test_moto_dynamodb_transactions_still_copy_whole_tables_and_the_patch_checks_then_writes(aws: None) -> None:
    assert "copy.deepcopy(" in inspect.getsource(BY_ID["dynamodb.DynamoDBBackend.transact_write_items"].original)
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


@pins("dynamodb.DynamoHandler.call_action")
def test_moto_dynamodb_still_writes_unlocked_and_concurrent_conditional_puts_let_exactly_one_win(aws: None) -> None:
    import threading

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    for moto_code in (BY_ID["dynamodb.DynamoHandler.call_action"].original, DynamoDBBackend.put_item, Table.put_item):
        assert "lock" not in inspect.getsource(moto_code).lower(), "moto's DynamoDB takes no lock"

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


@pins("dynamodb.DynamoHandler.serialized")
def test_the_fast_dynamodb_serializer_answers_as_moto_does(aws: None) -> None:
    assert "get_serializer_class(" in inspect.getsource(BY_ID["dynamodb.DynamoHandler.serialized"].original)
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _table(dynamodb)
    item: dict[str, AttributeValueTypeDef] = {
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
    with moto_own("dynamodb.DynamoHandler.serialized"):
        slow = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
        slow_query = dynamodb.query(
            TableName="t", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
        )
    assert fast == slow == item
    fast_rows, slow_rows = ({k: v for k, v in a.items() if k != "ResponseMetadata"} for a in (fast_query, slow_query))
    assert fast_rows == slow_rows


@pins("sqs.Queue.attributes", "sqs.SQSBackend.is_message_valid_based_on_retention_period")
def test_moto_sqs_still_walks_every_message_for_attributes_and_the_patch_defers_the_counts(aws: None) -> None:
    # every attribute, the counts (a walk over every message) included, computed on each read
    assert "for attribute in self.BASE_ATTRIBUTES:" in inspect.getsource(BY_ID["sqs.Queue.attributes"].original)
    assert "ApproximateNumberOfMessages" in Queue.BASE_ATTRIBUTES
    assert "get_queue_attributes(" in inspect.getsource(
        BY_ID["sqs.SQSBackend.is_message_valid_based_on_retention_period"].original
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


@pins("core.jsonpath_ng.ext.parse")
def test_moto_still_builds_a_jsonpath_parser_per_expression_and_the_patch_caches_them() -> None:
    from moto.events import utils as event_utils

    assert "from jsonpath_ng.ext import parse" in inspect.getsource(event_utils.EventTemplateParser.parse)
    patches.apply_patches()
    from jsonpath_ng import ext

    assert ext.parse("$.detail") is ext.parse("$.detail")  # type: ignore[attr-defined]  # implicit re-export


@pins("stepfunctions.BaseExecutionWorkerCommunication.terminated")
def test_moto_still_emits_no_execution_status_change_and_the_patch_does(aws: None) -> None:
    terminated = BY_ID["stepfunctions.BaseExecutionWorkerCommunication.terminated"].original
    assert "put_events" not in inspect.getsource(terminated)
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


def _stream_table(dynamodb: DynamoDBClient) -> None:
    create_events_table(dynamodb)
    for stream in ("a", "b", "c"):
        for version in (3, 1, 2, 10):
            dynamodb.put_item(TableName="events", Item={"pk": {"S": stream}, "sk": {"N": str(version)}})


@pins("dynamodb.Table.query", "dynamodb.Table.all_items")
def test_moto_still_queries_by_scanning_the_whole_table_and_the_patch_reads_one_partition(aws: None) -> None:
    from moto.dynamodb.models.table import Table

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    _stream_table(dynamodb)
    scanned: list[int] = []

    def counting_all_items(self: Table) -> Any:
        items = BY_ID["dynamodb.Table.all_items"].original(self)
        scanned.append(len(items))
        return items

    with (
        moto_own("dynamodb.Table.query", "dynamodb.Table.all_items"),
        mock.patch.object(Table, "all_items", counting_all_items),
    ):
        dynamodb.query(
            TableName="events", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
        )
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


def _with_and_without_the_patch(dynamodb: DynamoDBClient, request: dict[str, Any]) -> tuple[Any, Any, list[int]]:
    """A query's answer with the patch, moto's own answer, and how many items the patched query read."""
    from moto.dynamodb.models.table import Table

    read: list[int] = []
    patched_all_items = BY_ID["dynamodb.Table.all_items"].replacement

    def counting_patched(self: Table) -> Any:
        items = patched_all_items(self)
        read.append(len(items))
        return items

    with mock.patch.object(Table, "all_items", counting_patched):
        fast = dynamodb.query(**request)
    with moto_own("dynamodb.Table.query", "dynamodb.Table.all_items"):
        slow = dynamodb.query(**request)
    fast_rows, slow_rows = ({k: v for k, v in a.items() if k != "ResponseMetadata"} for a in (fast, slow))
    return fast_rows, slow_rows, read


def _state_table(dynamodb: DynamoDBClient) -> None:
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


@pins("core.responses.method_names_from_class")
def test_moto_still_lists_a_response_class_methods_per_request_and_the_patch_lists_them_once() -> None:
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    original = BY_ID["core.responses.method_names_from_class"].original
    assert "getmembers" in inspect.getsource(original)
    assert original(DynamoHandler) is not original(DynamoHandler)
    patches.apply_patches()
    listed = responses.method_names_from_class  # type: ignore[attr-defined]  # implicit re-export
    assert listed(DynamoHandler) is listed(DynamoHandler)
    assert sorted(listed(DynamoHandler)) == sorted(original(DynamoHandler))


def _sent_headers(client: BaseClient) -> list[dict[str, str]]:
    """The headers of each request `client` sends, as they leave botocore for moto (bytes, decoded)."""
    sent: list[dict[str, str]] = []
    client.meta.events.register_first(
        "before-send",
        lambda request, **_: sent.append(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        ),
    )
    return sent


@pins("core.SigV4Auth.add_auth")
def test_botocore_still_signs_every_request_and_the_patch_leaves_only_the_scope_inside_the_mock(aws: None) -> None:
    assert "self.signature(" in inspect.getsource(BY_ID["core.SigV4Auth.add_auth"].original)
    # JSON-protocol calls skip the HTTP hop (tests/localcloud/test_transport.py); SNS speaks Query
    sns = boto3.client("sns", region_name="eu-west-1")
    sent = _sent_headers(sns)
    arn = sns.create_topic(Name="scoped")["TopicArn"]
    assert sent[-1]["Authorization"].endswith("Signature=not-computed-locally")
    assert "/eu-west-1/sns/aws4_request" in sent[-1]["Authorization"]
    # what moto reads from the header is still there: the account (from the access key)
    assert arn == "arn:aws:sns:eu-west-1:123456789012:scoped"


@pins("core.SigV4Auth.add_auth")
def test_outside_the_mock_requests_are_still_signed() -> None:
    from botocore.awsrequest import AWSRequest

    patches.apply_patches()
    client = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
    )
    request = AWSRequest(method="POST", url="https://sqs.us-east-1.amazonaws.com/", data=b"{}")
    client._request_signer.sign("ListQueues", request)  # type: ignore[attr-defined]  # private: not in the stubs
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "not-computed-locally" not in authorization


@pins("sqs.Queue.messages", "sqs.Queue.delete_message")
def test_moto_sqs_still_reads_the_clock_per_message_and_the_patch_reads_it_once(aws: None) -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import sqs_backends

    assert "message.visible and not message.delayed" in inspect.getsource(BY_ID["sqs.Queue.messages"].original)
    # moto deletes in two passes, rebuilding the list without the lock SendMessage appends under
    delete = inspect.getsource(BY_ID["sqs.Queue.delete_message"].original)
    assert "self._messages = new_messages" in delete
    assert "_messages_lock" not in delete
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


@pins("core.BaseModel.__new__")
def test_moto_still_tracks_every_model_instance_it_makes_and_the_patch_tracks_none(aws: None) -> None:
    from moto.core.common_models import BaseModel
    from moto.sqs.models import Message

    BY_ID["core.BaseModel.__new__"].original(Message, "id", "body")
    tracked = list(Message.instances_tracked)  # type: ignore[attr-defined]  # moto's class attribute
    assert tracked, "moto keeps a made model in its class's list, for as long as the mock runs"
    assert BaseModel.__new__ is not BY_ID["core.BaseModel.__new__"].original
    made = Message("id", "body")
    assert made not in Message.instances_tracked  # type: ignore[attr-defined]  # moto's class attribute
    assert (made.id, made.body) == ("id", "body")


@pins("core.MotoRandom.get_random_string", "core.MotoRandom.get_random_hex")
def test_moto_still_draws_random_strings_a_character_at_a_time_and_the_patch_draws_them_at_once() -> None:
    from moto.moto_api._internal import mock_random

    assert "for i in range(length)" in inspect.getsource(BY_ID["core.MotoRandom.get_random_string"].original)
    assert "for _ in range(length)" in inspect.getsource(BY_ID["core.MotoRandom.get_random_hex"].original)
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


@pins("core.Request.from_primitives")
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

    original = BY_ID["core.Request.from_primitives"].original
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


# --- the declarations ------------------------------------------------------------------------


def test_every_patch_says_why_and_what_kind_it_is() -> None:
    from localcloud.patching import Kind

    for patch in patches.PATCHES:
        assert patch.why.strip(), patch.id
        assert patch.kind, patch.id
        assert patch.kind in Kind.GAP | Kind.SPEED, patch.id


def test_each_service_module_declares_that_services_patches_only() -> None:
    for patch in patches.PATCHES:
        module = patches.DECLARED_IN[patch.id]
        if module.startswith("localcloud.patches."):
            assert module == f"localcloud.patches.{patch.service}", patch.id


def _attribute(patch: Any) -> Any:
    if inspect.ismodule(patch.owner):
        return vars(patch.owner).get(patch.name, MISSING)
    return inspect.getattr_static(patch.owner, patch.name, MISSING)


def test_removing_the_patches_restores_motos_own_objects_and_applying_them_again_installs_them() -> None:
    patches.apply_patches()
    assert all(_attribute(patch) is patch.installed for patch in patches.PATCHES)
    try:
        patches.remove_patches()
        for patch in patches.PATCHES:
            assert _attribute(patch) is patch.found, f"{patch.id} is not moto's own object"
            assert (patch.name in vars(patch.owner)) is patch.own, f"{patch.id}: moto's own or inherited, as found"
        from moto.cloudformation import parsing

        assert "AWS::CloudWatch::Alarm" not in parsing.get_model_map(), "moto's own cache holds moto's types only"
        patches.remove_patches()  # nothing left to remove
    finally:
        patches.apply_patches()
        patches.apply_patches()  # idempotent
    assert all(_attribute(patch) is patch.installed for patch in patches.PATCHES)


def test_a_patch_installs_in_the_form_of_motos_object() -> None:
    from moto.core.request import Request

    from localcloud.patches import core, sqs

    patches.apply_patches()
    assert isinstance(vars(Queue)["physical_resource_id"], property)
    assert vars(Queue)["physical_resource_id"].fget is sqs._queue_url
    assert vars(Request)["from_primitives"].__func__ is core._request_from_primitives
    assert isinstance(vars(LambdaFunction)["create_from_cloudformation_json"], classmethod)


def test_a_wrong_moto_version_is_refused_and_nothing_is_installed() -> None:
    patches.remove_patches()
    try:
        with mock.patch.object(moto, "__version__", "5.3.0"), pytest.raises(patches.UnexpectedMotoVersion):
            patches.apply_patches()
        assert not any(patch.is_installed for patch in patches.PATCHES)
    finally:
        patches.apply_patches()


def test_every_declared_patch_is_pinned_by_a_test() -> None:
    import importlib
    import pkgutil

    import tests.localcloud
    from tests.localcloud.pins import PINNED

    for module in pkgutil.iter_modules(tests.localcloud.__path__):
        importlib.import_module(f"tests.localcloud.{module.name}")
    unpinned = sorted(set(patches.BY_ID) - set(PINNED))
    assert not unpinned, f"patches no test pins (@pins in tests/localcloud): {unpinned}"
    assert set(PINNED) <= set(patches.BY_ID)


def test_every_module_declaring_a_patch_is_gathered_and_none_patches_moto_by_hand() -> None:
    import ast
    from pathlib import Path

    root = Path(patches.__file__).parent.parent
    gathered = {module.__name__ for module in patches.DECLARING_MODULES}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Patch" for node in ast.walk(tree)):
            assert name in gathered, f"{name} declares patches that localcloud.patches does not gather"
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("moto", "botocore"))
            for alias in node.names
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) in imported:
                        raise AssertionError(f"{name}:{node.lineno} patches moto by hand: declare a Patch instead")


def test_the_docs_list_every_patch_as_declared() -> None:
    from pathlib import Path

    doc = (Path(patches.__file__).parents[2] / "docs" / "local-cloud.md").read_text()
    start, end = "<!-- the patches: python -m localcloud.patches -->\n", "<!-- end of the patches -->"
    assert start in doc
    assert end in doc
    listed = doc.split(start, 1)[1].split(end, 1)[0]
    assert listed.strip() == patches.table().strip(), "regenerate the list: python -m localcloud.patches"


# --- Lambda: a function's logging configuration ---------------------------------------------

_LOGGED: LoggingConfigTypeDef = {"LogGroup": "/orders/reserve", "LogFormat": "JSON"}


@pins("awslambda.LambdaFunction.__init__", "awslambda.LambdaFunction.get_configuration")
def test_moto_still_drops_a_functions_logging_config_and_the_patch_keeps_it(aws: None) -> None:
    for moto_code in ("__init__", "get_configuration"):
        assert "LoggingConfig" not in inspect.getsource(BY_ID[f"awslambda.LambdaFunction.{moto_code}"].original)
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    awslambda = boto3.client("lambda", region_name="us-east-1")
    awslambda.create_function(
        FunctionName="reserve",
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        LoggingConfig=_LOGGED,
    )
    assert awslambda.get_function_configuration(FunctionName="reserve")["LoggingConfig"] == _LOGGED
    from moto.awslambda.models import lambda_backends

    function = lambda_backends["123456789012"]["us-east-1"].get_function("reserve")
    assert function.logs_group_name == "/orders/reserve"


@pins("awslambda.LambdaFunction.create_from_cloudformation_json")
def test_moto_cloudformation_still_drops_a_functions_logging_tracing_and_architectures(aws: None) -> None:
    source = inspect.getsource(BY_ID["awslambda.LambdaFunction.create_from_cloudformation_json"].original)
    assert not {"LoggingConfig", "TracingConfig", "Architectures"} & set(source.replace('"', " ").split())
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    properties = {
        "Code": {"ZipFile": "def handler(event, context): return event"},
        "Handler": "index.handler",
        "Role": role,
        "Runtime": "python3.11",
        "FunctionName": "reserve",
        "LoggingConfig": _LOGGED,
        "TracingConfig": {"Mode": "Active"},
        "Architectures": ["arm64"],
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="s", TemplateBody=_stack({"Type": "AWS::Lambda::Function", "Properties": properties})
    )
    [function] = boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"]
    assert (function["LoggingConfig"], function["TracingConfig"], function["Architectures"]) == (
        _LOGGED,
        {"Mode": "Active"},
        ["arm64"],
    )


# --- SQS: a queue's URL behind a local endpoint ---------------------------------------------


@pins("sqs.Queue.physical_resource_id")
def test_moto_queue_refs_still_name_aws_and_the_patch_names_the_local_endpoint(aws: None) -> None:
    from moto.sqs.models import sqs_backends

    boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="orders")
    queue = sqs_backends["123456789012"]["us-east-1"].get_queue("orders")
    patches.set_endpoint("http://127.0.0.1:4566/")
    try:
        assert "amazonaws.com" in BY_ID["sqs.Queue.physical_resource_id"].original(queue)
        assert queue.physical_resource_id == "http://127.0.0.1:4566/123456789012/orders"
    finally:
        patches.set_endpoint(None)
    assert queue.physical_resource_id == BY_ID["sqs.Queue.physical_resource_id"].original(queue)


# --- Step Functions: JSONPath parsed once, handled failures not logged, names taken ----------


@pins("stepfunctions.json_path.parse", "stepfunctions.result_path.parse")
def test_moto_step_functions_still_parse_a_jsonpath_per_state_and_the_patch_caches_them() -> None:
    import jsonpath_ng
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    assert "from jsonpath_ng.ext import parse" in inspect.getsource(json_path)
    assert "from jsonpath_ng import parse" in inspect.getsource(result_path)
    assert BY_ID["stepfunctions.json_path.parse"].original is BY_ID["core.jsonpath_ng.ext.parse"].original
    assert BY_ID["stepfunctions.result_path.parse"].original is vars(jsonpath_ng)["parse"]
    patches.apply_patches()
    assert json_path.parse("$.detail") is json_path.parse("$.detail")  # type: ignore[attr-defined]  # implicit re-export
    assert result_path.parse("$.result") is result_path.parse("$.result")  # type: ignore[attr-defined]  # implicit re-export


@pins("stepfunctions.EvalComponent._log_failure_event_exception")
def test_moto_still_logs_every_failure_event_at_error_and_the_patch_leaves_it_to_the_history(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    failure = SimpleNamespace(failure_event=SimpleNamespace(error_name=None, event_details=None))
    component = SimpleNamespace()
    with caplog.at_level("ERROR", logger="moto.stepfunctions.parser.asl.component.eval_component"):
        BY_ID["stepfunctions.EvalComponent._log_failure_event_exception"].original(component, failure)
        assert [r.getMessage().split(" at ")[0] for r in caplog.records] == ["Exception=FailureEventException"]
        caplog.clear()
        patches.apply_patches()
        EvalComponent._log_failure_event_exception(component, failure)  # type: ignore[arg-type]  # a stand-in component
        assert caplog.records == []


@pins("stepfunctions.StateMachine._handle_name_input_idempotency")
def test_moto_frees_a_forgotten_executions_name_and_the_patch_keeps_it_taken(aws: None) -> None:
    from moto.stepfunctions.exceptions import ExecutionAlreadyExists

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(
        name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    machine = stepfunctions_parser_backends["123456789012"]["us-east-1"].describe_state_machine(arn)
    sfn_patches.forgotten_names(machine).add("order-1")  # as retention forgets a finished execution
    idempotency = BY_ID["stepfunctions.StateMachine._handle_name_input_idempotency"].original
    assert idempotency(machine, "order-1", "{}") is None, "moto looks among the executions it holds only"
    with pytest.raises(ExecutionAlreadyExists):
        machine._handle_name_input_idempotency("order-1", "{}")
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name="order-1")
