"""DynamoDB Streams read through the API: a trimmed record is refused as AWS refuses it.

A stream's shard holds its records from a trim point on. On AWS the trim point is 24 hours back;
the local cloud's retention (localcloud/retention.py) moves it up to the first record some event
source mapping has yet to read, which is earlier. A reader asking for a record before the trim
point (GetShardIterator at or after a trimmed sequence number, or GetRecords with an iterator
taken before the trim) gets what AWS gives for it, TrimmedDataAccessException (DynamoDB API
reference, GetShardIterator and GetRecords), where moto handed out an iterator into the trimmed
records and then failed an assertion reading it (HTTP 500). Both
calls hold the DynamoDB lock, as every table write and the trimming do: a read never sees the
shard's start and its records from two different moments.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

from localcloud.patches.dynamodb import LOCK
from localcloud.patching import Kind, Patch

TRIMMED = "TrimmedDataAccessException"
_BY_SEQUENCE_NUMBER = frozenset({"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"})


class TrimmedDataAccess(JsonRESTError):
    """The operation attempted to read past the oldest stream record in a shard."""

    def __init__(self) -> None:
        super().__init__(TRIMMED, "The operation attempted to read past the oldest stream record in a shard.")


def trim(shard: StreamShard, before: int) -> int:
    """Forget the shard's records whose sequence number is below `before`; how many went.

    The caller holds LOCK (every stream write holds it). Sequence numbers stay what they were:
    the shard's start moves up by as many records as were forgotten."""
    count = max(0, min(before - int(shard.starting_sequence_number), len(shard.items)))
    if count:
        del shard.items[:count]
        shard.starting_sequence_number += count
    return count


def _get_shard_iterator(
    self: DynamoDBStreamsBackend, arn: str, shard_id: str, shard_iterator_type: str, sequence_number: Any = None
) -> ShardIterator:
    with LOCK:
        shard = self._get_table_from_arn(arn).stream_shard
        by_number = shard_iterator_type in _BY_SEQUENCE_NUMBER and isinstance(sequence_number, int)
        # moto has turned the wire's string into an integer; below the trim point it names a trimmed record.
        if shard is not None and by_number and sequence_number < int(shard.starting_sequence_number):
            raise TrimmedDataAccess()
        iterator: ShardIterator = _GET_SHARD_ITERATOR.original(
            self, arn, shard_id, shard_iterator_type, sequence_number
        )
        return iterator


def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    with LOCK:
        iterator = self.shard_iterators.get(iterator_arn)
        if iterator is not None and iterator.sequence_number < iterator.stream_shard.starting_sequence_number:
            raise TrimmedDataAccess()
        records: dict[str, Any] = _GET_RECORDS.original(self, iterator_arn, limit)
        return records


PATCHES = (
    _GET_SHARD_ITERATOR := Patch(
        owner=DynamoDBStreamsBackend,
        name="get_shard_iterator",
        replacement=_get_shard_iterator,
        kind=Kind.GAP,
        why="A shard iterator at or after a trimmed record's sequence number is refused with "
        "TrimmedDataAccessException, as on AWS; moto handed out an iterator into the trimmed records.",
    ),
    _GET_RECORDS := Patch(
        owner=DynamoDBStreamsBackend,
        name="get_records",
        replacement=_get_records,
        kind=Kind.GAP,
        why="GetRecords with an iterator pointing before the trim point is refused with "
        "TrimmedDataAccessException, as on AWS; moto failed an assertion (HTTP 500). It reads "
        "under the DynamoDB lock, as the trimming and every stream write hold it.",
    ),
)
