"""The event store on DynamoDB: conditional puts, atomic multi-event appends, ordered reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lambdas.adapters.event_codec import from_item, to_item
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.events import StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef, TransactWriteItemTypeDef

_NEW_POSITION_ONLY = "attribute_not_exists(pk)"
_CONFLICT_CODES = {"ConditionalCheckFailed", "TransactionConflict"}


class DynamoDBEventStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def append(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        if len(events) == 1:
            # One event needs no transaction, and a plain conditional put costs half the units.
            self._put_one(events[0])
            return
        puts: list[TransactWriteItemTypeDef] = [
            {"Put": {"TableName": self._table, "Item": to_item(e), "ConditionExpression": _NEW_POSITION_ONLY}}
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

    def _put_one(self, event: StoredEvent) -> None:
        try:
            self._client.put_item(TableName=self._table, Item=to_item(event), ConditionExpression=_NEW_POSITION_ONLY)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrencyConflict(_conflict_message([event])) from error
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
            events.extend(from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return events
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def iter_all(self) -> Iterator[StoredEvent]:
        streams: dict[str, list[StoredEvent]] = defaultdict(list)
        for page in self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            for item in page["Items"]:
                event = from_item(item)
                streams[event.stream_id].append(event)
        for stream in streams.values():
            yield from sorted(stream, key=lambda e: e.version)


def _conflict_message(events: Sequence[StoredEvent]) -> str:
    first = events[0]
    return f"stream {first.stream_id}: version {first.version} was appended by another writer"
