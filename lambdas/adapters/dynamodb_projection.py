"""The saga projection table: conditional writes keyed by the last applied version, and queries."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.projection import SagaView

STATE_INDEX = "by-state"
"""GSI: partition `state`, sort `updated_at` — answers "which sagas are pending/failed/...?"."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(view: SagaView) -> dict[str, Any]:
    plain = view.model_dump(mode="json", exclude_none=True)
    if "duration_seconds" in plain:
        plain["duration_seconds"] = Decimal(str(plain["duration_seconds"]))
    plain["steps_completed"] = list(plain["steps_completed"])
    plain["compensations_run"] = list(plain["compensations_run"])
    return {key: _serializer.serialize(value) for key, value in plain.items()}


def _from_item(item: dict[str, Any]) -> SagaView:
    plain = {key: _deserializer.deserialize(value) for key, value in item.items()}
    if "duration_seconds" in plain:
        plain["duration_seconds"] = float(plain["duration_seconds"])
    plain["version"] = int(plain["version"])
    return SagaView.model_validate(plain)


class DynamoDBProjection:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, order_id: str) -> SagaView | None:
        item = self._client.get_item(TableName=self._table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get(
            "Item"
        )
        return _from_item(item) if item else None

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

    def by_state(self, state: str, limit: int | None = None) -> Iterator[SagaView]:
        paginator = self._client.get_paginator("query")
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATE_INDEX,
            "KeyConditionExpression": "#state = :state",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":state": {"S": state}},
            "ScanIndexForward": False,
        }
        if limit:
            kwargs["PaginationConfig"] = {"MaxItems": limit}
        for page in paginator.paginate(**kwargs):
            for item in page["Items"]:
                yield _from_item(item)

    def all(self) -> Iterator[SagaView]:
        for page in self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            for item in page["Items"]:
                yield _from_item(item)
