"""The event store on DynamoDB: each append one conditional put, read back in version order.

An append, however many events it holds, is one item (event_codec.append_item) written by one
PutItem on the condition that its first position is free: atomic, as one item is, and at one
write unit per started kilobyte where a transaction of one item per event writes two per event
(DynamoDB developer guide, "Amazon DynamoDB Transactions: How it works", capacity management).
Optimistic concurrency holds because every writer appends right after the version it read, and a
read sees whole appends only: two writers that read the same version both claim the next position,
and the second put is refused. A refused put consumes its write units too.

An append too large for one item (DynamoDB's 400 KB) is written as one item per event in one
transaction, each on the condition that its position is free: still atomic, at twice the units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lambdas.adapters.event_codec import NO_EVENT_AT_KEY, Item, append_item, events_from_item, to_item
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.events import StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef, TransactWriteItemTypeDef

_CONFLICT_CODES = {"ConditionalCheckFailed", "TransactionConflict"}
ITEM_LIMIT_BYTES = 400 * 1024
"""DynamoDB's item size limit (attribute names and values, UTF-8)."""


class DynamoDBEventStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def append(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        item = append_item(events)
        if len(events) > 1 and _size(item) > ITEM_LIMIT_BYTES:
            self._transact(events)
            return
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression=NO_EVENT_AT_KEY)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrencyConflict(_conflict_message(events)) from error
            raise

    def _transact(self, events: Sequence[StoredEvent]) -> None:
        puts: list[TransactWriteItemTypeDef] = [
            {"Put": {"TableName": self._table, "Item": to_item(e), "ConditionExpression": NO_EVENT_AT_KEY}}
            for e in events
        ]
        try:
            self._client.transact_write_items(TransactItems=puts)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
            if reasons & _CONFLICT_CODES:
                raise ConcurrencyConflict(_conflict_message(events)) from error
            raise

    def read(self, stream_id: str) -> list[StoredEvent]:
        # Query pages followed by hand: botocore's paginator builds a class per call and loads
        # its model on a client's first use, unlocked (threads sharing the client all load it).
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :stream",
            "ExpressionAttributeValues": {":stream": {"S": stream_id}},
            "ConsistentRead": True,
        }
        events: list[StoredEvent] = []
        while True:
            page = self._client.query(**request)
            for item in page["Items"]:
                events.extend(events_from_item(item))
            if "LastEvaluatedKey" not in page:
                return events
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def iter_all(self) -> Iterator[StoredEvent]:
        streams: dict[str, list[StoredEvent]] = defaultdict(list)
        for page in self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            for item in page["Items"]:
                for event in events_from_item(item):
                    streams[event.stream_id].append(event)
        for stream in streams.values():
            yield from sorted(stream, key=lambda e: e.version)


def _conflict_message(events: Sequence[StoredEvent]) -> str:
    first = events[0]
    return f"stream {first.stream_id}: version {first.version} was appended by another writer"


def _size(item: Item) -> int:
    """An upper bound of the item's size as DynamoDB counts it: every value here is a string or a number."""
    return sum(len(name.encode()) + len(str(next(iter(value.values()))).encode()) for name, value in item.items())
