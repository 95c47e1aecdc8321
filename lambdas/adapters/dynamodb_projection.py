"""The saga projection table: conditional writes keyed by the last applied version, and queries."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from lambdas.contract import STATE_INDEX
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.projection import SagaView
from lambdas.domain.states import PARKED_STATES, TERMINAL_STATES

BATCH_GET_LIMIT = 100
"""BatchGetItem reads at most 100 keys per call."""

SETTLED_STATES = frozenset(s.value for s in TERMINAL_STATES | PARKED_STATES)
"""States a saga stays in until an operator acts: waiting for sagas ends there."""


@cache
def _codec() -> tuple[Any, Any]:
    """DynamoDB's attribute-value (de)serialisers; importing them imports all of boto3, so on first use."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _to_item(view: SagaView) -> dict[str, Any]:
    plain = view.model_dump(mode="json", exclude_none=True)
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


STATE_READS_PER_SECOND = 100
STATE_READS_PAUSE_MAX = 10.0


class DynamoDBProjection:
    def __init__(self, client: Any, table_name: str) -> None:
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

    def wait_settled(
        self,
        order_ids: Iterable[str],
        timeout: float,
        on_settled: Callable[[list[SagaView]], None] = lambda views: None,
    ) -> tuple[dict[str, SagaView], list[str]]:
        """Poll until every saga is terminal or parked, or `timeout` passes: (settled views, unsettled ids).

        Each pass reads only the states of the sagas still pending (100 per BatchGetItem) and
        the whole row of each saga once, when it settles. The pause grows with the number
        pending (one second per hundred, ten at most), so about a hundred states are read per
        second however many sagas are awaited, and waiting for thousands does not crowd out
        the sagas themselves. A saga's end time comes from its row, not from when the wait
        noticed it; the wait's last pause is short, as few sagas are left by then.
        """
        deadline = time.monotonic() + timeout
        pending = list(dict.fromkeys(order_ids))
        settled: dict[str, SagaView] = {}
        while pending:
            states = self.states(pending)
            views = self.get_many(o for o in pending if states.get(o) in SETTLED_STATES)
            now_settled = [v for v in views.values() if v.state.value in SETTLED_STATES]
            if now_settled:
                settled.update((v.order_id, v) for v in now_settled)
                on_settled(now_settled)
                pending = [o for o in pending if o not in settled]
            if not pending or time.monotonic() >= deadline:
                break
            pause = min(STATE_READS_PAUSE_MAX, 0.01 + len(pending) / STATE_READS_PER_SECOND)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        return settled, pending

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
            kwargs["ExpressionAttributeValues"][":before"] = {"S": before}
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
