"""The task tokens of sagas waiting for a pharmacist, kept by order id in a table of their own.

A token answers a waiting task: whoever holds it can complete a saga's verification, so it is kept
only here (under the stack's key, expiring by TTL) and read only by the saga's functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lambdas.contract import TASK_TOKEN_EXPIRES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TOKEN_ATTRIBUTE = "task_token"
EXPIRES_ATTRIBUTE = TASK_TOKEN_EXPIRES
"""The table's TTL attribute (epoch seconds): DynamoDB deletes the item some time after it."""


class DynamoDBTaskTokens:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def keep(self, order_id: str, token: str, expires_at: datetime) -> None:
        """The order's current token (a retried task has a new one: it replaces the old)."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "order_id": {"S": order_id},
                TOKEN_ATTRIBUTE: {"S": token},
                EXPIRES_ATTRIBUTE: {"N": str(int(expires_at.timestamp()))},
            },
        )

    def find(self, order_id: str) -> str | None:
        found = self._client.get_item(
            TableName=self._table, Key={"order_id": {"S": order_id}}, ConsistentRead=True
        ).get("Item")
        return None if found is None else str(found[TOKEN_ATTRIBUTE]["S"])
