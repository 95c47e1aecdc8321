"""The saga projection table: conditional writes keyed by the last applied version, and queries."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.contract import STATE_INDEX
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.projection import SagaView

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100
"""BatchGetItem reads at most 100 keys per call."""


@cache
def _codec() -> tuple[Any, Any]:
    """DynamoDB's attribute-value (de)serialisers; importing them imports all of boto3, so on first use."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def index_time(at: datetime) -> str:
    """`at` as the state index sorts it: UTC, always with microseconds, so that text order is time
    order. (ISO 8601 as pydantic writes it leaves the fraction out at a whole second, and
    "…:31Z" would sort after "…:31.500000Z": listed as newer than the rest of its second.)"""
    utc = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _index_cursor(before: str) -> str:
    """An ISO time as the index sorts it; anything else as given (a cursor typed into a URL, say)."""
    try:
        return index_time(datetime.fromisoformat(before))
    except ValueError:
        return before


def _to_item(view: SagaView) -> dict[str, Any]:
    plain = view.model_dump(mode="json", exclude_none=True)
    plain["updated_at"] = index_time(view.updated_at)  # the index's sort key
    if "duration_seconds" in plain:
        plain["duration_seconds"] = Decimal(str(plain["duration_seconds"]))
    plain["steps_completed"] = list(plain["steps_completed"])
    plain["compensations_run"] = list(plain["compensations_run"])
    serializer, _ = _codec()
    return {key: serializer.serialize(value) for key, value in plain.items()}


def _from_item(item: dict[str, Any]) -> SagaView:
    _, deserializer = _codec()
    plain = {key: deserializer.deserialize(value) for key, value in item.items()}
    if "duration_seconds" in plain:
        plain["duration_seconds"] = float(plain["duration_seconds"])
    plain["version"] = int(plain["version"])
    return SagaView.model_validate(plain)


class DynamoDBProjection:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, order_id: str) -> SagaView | None:
        item = self._client.get_item(TableName=self._table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get(
            "Item"
        )
        return _from_item(item) if item else None

    def get_many(self, order_ids: Iterable[str]) -> dict[str, SagaView]:
        """The rows of `order_ids` that exist, read 100 keys per BatchGetItem (strongly consistent)."""
        return {order_id: row() for order_id, row in self.get_each(order_ids).items()}

    def get_each(self, order_ids: Iterable[str]) -> dict[str, Callable[[], SagaView]]:
        """As get_many, each row decoded only when its entry is called: a row that cannot be
        decoded fails only whoever asks for it, not the whole read."""
        return {item["order_id"]["S"]: functools.partial(_from_item, item) for item in self._batch_get(order_ids, {})}

    def states(self, order_ids: Iterable[str]) -> dict[str, str]:
        """The state of each of `order_ids` that has a row, reading only the key and the state."""
        names = {
            "ProjectionExpression": "#id, #state",
            "ExpressionAttributeNames": {"#id": "order_id", "#state": "state"},
        }
        return {item["order_id"]["S"]: item["state"]["S"] for item in self._batch_get(order_ids, names)}

    def _batch_get(self, order_ids: Iterable[str], projection: dict[str, Any]) -> Iterator[dict[str, Any]]:
        wanted = list(dict.fromkeys(order_ids))
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"order_id": {"S": o}} for o in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True, **projection}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                yield from response["Responses"].get(self._table, [])
                request = response.get("UnprocessedKeys") or {}

    def put(self, view: SagaView, previous_version: int | None) -> None:
        """Write `view` only if the row is still at `previous_version` (None: no row yet)."""
        if previous_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(order_id)"}
        else:
            condition = {
                "ConditionExpression": "version = :previous",
                "ExpressionAttributeValues": {":previous": {"N": str(previous_version)}},
            }
        try:
            self._client.put_item(TableName=self._table, Item=_to_item(view), **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrencyConflict(f"projection row {view.order_id} moved on") from error
            raise

    def replace(self, view: SagaView) -> None:
        """Unconditional write, for a rebuild from the event store."""
        self._client.put_item(TableName=self._table, Item=_to_item(view))

    def by_state(self, state: str, limit: int | None = None, before: str | None = None) -> Iterator[SagaView]:
        """The sagas in `state`, newest first; only those updated before `before` (ISO time) if given."""
        paginator = self._client.get_paginator("query")
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATE_INDEX,
            "KeyConditionExpression": "#state = :state",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":state": {"S": state}},
            "ScanIndexForward": False,
        }
        if before:
            kwargs["KeyConditionExpression"] += " AND #updated < :before"
            kwargs["ExpressionAttributeNames"]["#updated"] = "updated_at"
            kwargs["ExpressionAttributeValues"][":before"] = {"S": _index_cursor(before)}
        if limit:  # pages of `limit` rows: a 1 MB page cut down to `limit` would read far more than asked
            kwargs["PaginationConfig"] = {"MaxItems": limit, "PageSize": limit}
        for page in paginator.paginate(**kwargs):
            for item in page["Items"]:
                yield _from_item(item)

    def count_by_state(self, state: str) -> int:
        """How many sagas are in `state`, counted by the index (no row is read out)."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=STATE_INDEX,
            KeyConditionExpression="#state = :state",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":state": {"S": state}},
            Select="COUNT",
        )
        return sum(page["Count"] for page in pages)

    def all(self) -> Iterator[SagaView]:
        for page in self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            for item in page["Items"]:
                yield _from_item(item)
