"""Retention (localcloud/retention.py): what a sweep forgets of finished sagas, and what it keeps."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.dynamodb.models import dynamodb_backends
from moto.events.models import events_backends
from moto.logs.models import logs_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.parser.utils import TMP_THREADS

from harness.inprocess import InProcess
from harness.queries import replay_projection
from infra import names
from lambdas.domain.states import Step
from localcloud.access.enforcement import AUTHORIZER
from localcloud.retention import Retention, Sweeper
from tests.e2e.helpers import execution_arn, executions, order

FORGET_ALL = Retention(sagas=0, minutes=0)


def _run(cloud: InProcess, *order_ids: str) -> None:
    for order_id in order_ids:
        cloud.put_order(order(order_id, "med-1"))
    cloud.wait_for_sagas(order_ids)
    cloud.local.wait_until_idle()


def _tables(cloud: InProcess) -> dict[str, list[str]]:
    dynamodb = cloud.client("dynamodb")
    found = {}
    for table in dynamodb.list_tables()["TableNames"]:
        items = [i for page in dynamodb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
        found[table] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return found


def _stream_records(cloud: InProcess) -> int:
    tables = dynamodb_backends[cloud.local.account][cloud.local.region].tables.values()
    return sum(len(t.stream_shard.items) for t in tables if t.stream_shard)


def _log_streams(cloud: InProcess) -> int:
    return sum(len(g.streams) for g in logs_backends[cloud.local.account][cloud.local.region].groups.values())


def _archived(cloud: InProcess) -> int:
    return sum(len(a.events) for a in events_backends[cloud.local.account][cloud.local.region].archives.values())


def _replay_identical(cloud: InProcess) -> bool:
    return replay_projection(cloud, apply=False).identical


def test_a_sweep_forgets_finished_sagas_traces_and_keeps_every_table_item(cloud: InProcess) -> None:
    # Given three finished sagas, and what they wrote to the tables
    _run(cloud, "r-1", "r-2", "r-3")
    tables = _tables(cloud)
    assert executions(cloud)
    assert _log_streams(cloud)
    assert _stream_records(cloud)
    assert _archived(cloud)
    assert cloud.local.logs
    # When a sweep keeps nothing finished
    forgotten = Sweeper(cloud.local, FORGET_ALL).sweep()
    # Then their executions, log streams and lines, stream records and archived events are gone
    assert forgotten.executions == 3
    assert (executions(cloud), _log_streams(cloud), _stream_records(cloud), _archived(cloud), cloud.local.logs) == (
        [],
        0,
        0,
        0,
        [],
    )
    # and every table item (event store, projection, business tables) is as it was, replay agreeing
    assert _tables(cloud) == tables
    assert _replay_identical(cloud)


def test_a_sweep_lets_go_of_the_engines_finished_threads_and_the_grants_on_forgotten_log_streams(
    cloud: InProcess,
) -> None:
    _run(cloud, "t-1")
    streams = {
        s.arn
        for g in logs_backends[cloud.local.account][cloud.local.region].groups.values()
        for s in g.streams.values()
    }
    assert any(not thread.is_alive() for thread in TMP_THREADS)
    assert any(resource in streams for _, _, resource in AUTHORIZER.granted)
    Sweeper(cloud.local, FORGET_ALL).sweep()
    assert all(thread.is_alive() for thread in TMP_THREADS)
    assert not any(resource in streams for _, _, resource in AUTHORIZER.granted)


def test_the_last_n_sagas_keep_their_executions(cloud: InProcess) -> None:
    for order_id in ("n-1", "n-2", "n-3"):
        _run(cloud, order_id)  # one after the other: n-3 finishes last
    Sweeper(cloud.local, Retention(sagas=1, minutes=60)).sweep()
    sfn = cloud.client("stepfunctions")
    assert [e["name"] for e in executions(cloud)] == ["n-3"]
    assert sfn.get_execution_history(executionArn=execution_arn(cloud, "n-3"))["events"]
    with pytest.raises(ClientError) as gone:
        sfn.describe_execution(executionArn=execution_arn(cloud, "n-1"))
    assert gone.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_a_saga_within_both_the_minutes_and_the_count_is_kept_until_the_minutes_pass(cloud: InProcess) -> None:
    _run(cloud, "m-1")
    sweeper = Sweeper(cloud.local, Retention(sagas=100, minutes=10))
    kept = sweeper.sweep()
    assert (kept.executions, kept.log_lines, kept.archived_events) == (0, 0, 0)
    assert [e["name"] for e in executions(cloud)] == ["m-1"]
    # Eleven minutes on, the saga's traces have gone
    assert sweeper.sweep(now=time.time() + 11 * 60).executions == 1


def test_a_forgotten_executions_name_stays_taken_so_a_duplicate_order_starts_no_second_saga(cloud: InProcess) -> None:
    _run(cloud, "d-1")
    Sweeper(cloud.local, FORGET_ALL).sweep()
    sfn = cloud.client("stepfunctions")
    with pytest.raises(ClientError) as taken:
        sfn.start_execution(stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE], name="d-1", input="{}")
    assert taken.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    # The order delivered again: still one saga, completed, and no execution started for it
    cloud.put_order(order("d-1", "med-1"))
    cloud.local.wait_until_idle()
    assert cloud.wait_for_sagas(["d-1"]) == {"d-1": "COMPLETED"}
    assert executions(cloud) == []


def test_an_execution_started_after_a_sweep_carries_no_forgotten_name(cloud: InProcess) -> None:
    # moto snapshots the state machine into every execution it starts (a deep copy): whatever
    # retention keeps on the machine is copied into each, growing with every saga forgotten.
    _run(cloud, "f-1", "f-2")
    Sweeper(cloud.local, FORGET_ALL).sweep()
    _run(cloud, "f-3")
    backend = stepfunctions_parser_backends[cloud.local.account][cloud.local.region]
    [started] = [e for e in backend._get_executions() if e.name == "f-3"]
    snapshot = vars(started.state_machine)
    assert not [name for name, value in snapshot.items() if isinstance(value, set) and "f-1" in value]
    # and the forgotten names stay taken
    with pytest.raises(ClientError) as taken:
        cloud.client("stepfunctions").start_execution(
            stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE], name="f-1", input="{}"
        )
    assert taken.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the local cloud never got there"
        time.sleep(0.01)


def _gate(cloud: InProcess, function: str) -> threading.Event:
    """Hold every invocation of `function` until the returned event is set."""
    path = names.handler_path(function)
    handler, gate = cloud.local.runtime._handler(path), threading.Event()

    def held(event: Any, context: Any) -> Any:
        gate.wait(timeout=30)
        return handler(event, context)

    cloud.local.runtime.replacements[path] = held
    return gate


def test_a_running_execution_survives_a_sweep_and_finishes(cloud: InProcess) -> None:
    _run(cloud, "s-done")
    gate = _gate(cloud, Step.RESERVE_INVENTORY.value)
    cloud.put_order(order("s-running", "med-1"))
    _until(lambda: [e["status"] for e in executions(cloud) if e["name"] == "s-running"] == ["RUNNING"])
    forgotten = Sweeper(cloud.local, FORGET_ALL).sweep()
    assert forgotten.executions == 1
    assert [(e["name"], e["status"]) for e in executions(cloud)] == [("s-running", "RUNNING")]
    gate.set()
    assert cloud.wait_for_sagas(["s-running"]) == {"s-running": "COMPLETED"}
    assert _replay_identical(cloud)


def test_stream_records_a_mapping_has_not_read_are_kept_and_the_projection_catches_up(cloud: InProcess) -> None:
    gate = _gate(cloud, names.PROJECTOR)
    cloud.put_order(order("p-1", "med-1"))
    _until(lambda: _stream_records(cloud) > 0)
    unread = _stream_records(cloud)
    Sweeper(cloud.local, FORGET_ALL).sweep()
    assert _stream_records(cloud) >= unread, "the projector has not read them: they stay"
    gate.set()
    assert cloud.wait_for_sagas(["p-1"]) == {"p-1": "COMPLETED"}
    cloud.local.wait_until_idle()
    assert _replay_identical(cloud)
    Sweeper(cloud.local, FORGET_ALL).sweep()
    assert _stream_records(cloud) == 0, "read by every mapping, they go"


def test_stream_records_every_mapping_has_read_go_at_the_next_sweep_whatever_their_age(cloud: InProcess) -> None:
    # Given finished sagas well within the retention limits, every stream record read by both mappings
    _run(cloud, "w-1", "w-2")
    assert _stream_records(cloud)
    # When a sweep keeps every saga of the last hour
    forgotten = Sweeper(cloud.local, Retention(sagas=1000, minutes=60)).sweep()
    # Then the sagas' executions stay, and the stream records no reader will ask for again go
    assert sorted(e["name"] for e in executions(cloud)) == ["w-1", "w-2"]
    assert forgotten.executions == 0
    assert forgotten.stream_records > 0
    assert _stream_records(cloud) == 0
    # and a saga after the sweep is projected and published as before
    _run(cloud, "w-3")
    assert _replay_identical(cloud)


def _streams_client(cloud: InProcess) -> Any:
    # botocore addresses a stream's ARN to its account's endpoint (ACCOUNT.streams-ddb...), which
    # moto does not serve: the regional one is the same API.
    return boto3.client(
        "dynamodbstreams", region_name=cloud.local.region, config=Config(account_id_endpoint_mode="disabled")
    )


def test_an_api_reader_asking_for_a_forgotten_stream_record_is_told_it_was_trimmed(cloud: InProcess) -> None:
    # Given a reader of the event store's stream through the API, with an iterator and the first
    # record's sequence number, taken while the records are there
    table = cloud.client("dynamodb").describe_table(TableName=cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE])
    stream_arn = table["Table"]["LatestStreamArn"]
    streams = _streams_client(cloud)
    _run(cloud, "a-1")
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    first = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1)["Records"][0]
    # When the mappings have read every record and a sweep forgets them
    assert Sweeper(cloud.local, Retention(sagas=1000, minutes=60)).sweep().stream_records > 0
    # Then the reader is told what AWS tells of a trimmed record, never given less in silence
    with pytest.raises(ClientError) as stale:
        streams.get_records(ShardIterator=iterator["ShardIterator"])
    with pytest.raises(ClientError) as at_first:
        streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard["ShardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=first["dynamodb"]["SequenceNumber"],
        )
    assert [e.value.response["Error"]["Code"] for e in (stale, at_first)] == ["TrimmedDataAccessException"] * 2
    # and what is written next is read from the trim horizon
    _run(cloud, "a-2")
    fresh = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=fresh["ShardIterator"])["Records"]
    assert records
    assert all("a-2" in json.dumps(r["dynamodb"]["Keys"]) for r in records)


def test_a_stream_no_mapping_reads_keeps_its_records_until_the_horizon(cloud: InProcess) -> None:
    dynamodb = cloud.client("dynamodb")
    dynamodb.create_table(
        TableName="unread",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    dynamodb.put_item(TableName="unread", Item={"pk": {"S": "x"}})
    shard = dynamodb_backends[cloud.local.account][cloud.local.region].get_table("unread").stream_shard
    assert shard is not None
    sweeper = Sweeper(cloud.local, Retention(sagas=1000, minutes=10))
    sweeper.sweep()
    assert len(shard.items) == 1
    sweeper.sweep(now=time.time() + 11 * 60)
    assert len(shard.items) == 0


def test_a_message_not_yet_deleted_is_kept(cloud: InProcess) -> None:
    # The domain events tap has no consumer: every published event waits there
    _run(cloud, "q-1")
    tap = cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE]
    waiting = sqs_backends[cloud.local.account][cloud.local.region].get_queue(tap.rsplit("/", 1)[1])
    before = [m.id for m in waiting._messages]
    assert before
    Sweeper(cloud.local, FORGET_ALL).sweep()
    assert [m.id for m in waiting._messages] == before


def test_a_deleted_messages_receipt_handle_is_forgotten_one_sweep_after_its_deletion(cloud: InProcess) -> None:
    sqs, queue = cloud.client("sqs"), cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE]
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    sweeper = Sweeper(cloud.local, FORGET_ALL)
    assert sweeper.sweep().receipt_handles == 0
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])  # deleted twice: a no-op, as on AWS
    assert sweeper.sweep().receipt_handles > 0
    deleted = sqs_backends[cloud.local.account][cloud.local.region].get_queue(queue.rsplit("/", 1)[1]).deleted_messages
    assert message["ReceiptHandle"] not in deleted


def test_the_sweeper_runs_on_its_own_thread_until_stopped(cloud: InProcess) -> None:
    sweeper = Sweeper(cloud.local, FORGET_ALL).start()
    sweeper.stop()
    assert sweeper._thread is not None
    assert not sweeper._thread.is_alive()


def test_a_retention_counts_from_zero_up() -> None:
    with pytest.raises(ValueError, match="from zero up"):
        Retention(sagas=-1)
    with pytest.raises(ValueError, match="from zero up"):
        Retention(minutes=-0.5)
