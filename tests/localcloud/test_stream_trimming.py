"""A DynamoDB stream read through the API after records were trimmed (localcloud/patches/dynamodbstreams.py).

What AWS answers is its API reference's (GetShardIterator, GetRecords): asking for a record older
than the trim point, or reading with an iterator that points at one, is TrimmedDataAccessException;
TRIM_HORIZON starts at the oldest record still in the shard.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from localcloud import patches
from localcloud.patches.dynamodb import LOCK
from localcloud.patches.dynamodbstreams import TRIMMED, trim
from tests.localcloud.pins import moto_own, pins

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def streams() -> Iterator[tuple[Any, str, str, list[str]]]:
    """A table "t" with a stream, three items written ("a", "b", "c"): the streams client, the
    stream's ARN, its shard's id and the records' sequence numbers, in order."""
    patches.apply_patches()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        stream_arn = dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        for key in ("a", "b", "c"):
            dynamodb.put_item(TableName="t", Item={"pk": {"S": key}})
        # botocore addresses a stream's ARN to its account's endpoint, which moto does not serve.
        client = boto3.client("dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled"))
        [shard] = client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        iterator = client.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        numbers = [r["dynamodb"]["SequenceNumber"] for r in client.get_records(ShardIterator=iterator)["Records"]]
        assert len(numbers) == 3
        yield client, stream_arn, shard["ShardId"], numbers


def _trim_the_first_two() -> None:
    shard = dynamodb_backends[ACCOUNT][REGION].get_table("t").stream_shard
    assert shard is not None
    with LOCK:
        assert trim(shard, before=int(shard.starting_sequence_number) + 2) == 2


def _keys(client: Any, iterator: str) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in client.get_records(ShardIterator=iterator)["Records"]]


@pins("dynamodbstreams.DynamoDBStreamsBackend.get_shard_iterator")
@pytest.mark.parametrize("kind", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_an_iterator_at_a_trimmed_record_is_refused_as_trimmed(
    streams: tuple[Any, str, str, list[str]], kind: str
) -> None:
    client, arn, shard, numbers = streams
    _trim_the_first_two()

    def ask() -> Any:
        return client.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType=kind, SequenceNumber=numbers[0]
        )

    with moto_own("dynamodbstreams.DynamoDBStreamsBackend.get_shard_iterator"):
        taken = ask()["ShardIterator"]  # moto hands out an iterator into the trimmed records
    with pytest.raises(ClientError) as refused:
        ask()
    assert refused.value.response["Error"]["Code"] == TRIMMED
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert taken


@pins("dynamodbstreams.DynamoDBStreamsBackend.get_records")
def test_reading_with_an_iterator_taken_before_the_trim_is_refused_as_trimmed(
    streams: tuple[Any, str, str, list[str]],
) -> None:
    client, arn, shard, _ = streams
    iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    _trim_the_first_two()
    with moto_own("dynamodbstreams.DynamoDBStreamsBackend.get_records"), pytest.raises(AssertionError):
        client.get_records(ShardIterator=iterator)  # moto's shard asserts: an HTTP 500 behind an endpoint
    with pytest.raises(ClientError) as refused:
        client.get_records(ShardIterator=iterator)
    assert refused.value.response["Error"]["Code"] == TRIMMED


def test_what_is_left_after_a_trim_reads_as_before(streams: tuple[Any, str, str, list[str]]) -> None:
    client, arn, shard, numbers = streams
    _trim_the_first_two()
    horizon = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    at_last = client.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=numbers[2]
    )
    assert _keys(client, horizon["ShardIterator"]) == ["c"]
    assert _keys(client, at_last["ShardIterator"]) == ["c"]
    [described] = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert described["SequenceNumberRange"]["StartingSequenceNumber"] == numbers[2]


def test_a_trim_never_reaches_past_the_last_record(streams: tuple[Any, str, str, list[str]]) -> None:
    shard = dynamodb_backends[ACCOUNT][REGION].get_table("t").stream_shard
    assert shard is not None
    start = int(shard.starting_sequence_number)
    with LOCK:
        assert trim(shard, before=start) == 0
        assert trim(shard, before=start + 10) == 3
    assert int(shard.starting_sequence_number) == start + 3
