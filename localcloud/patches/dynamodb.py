"""DynamoDB as atomic as the real one, for a local cloud whose Lambdas run concurrently.

moto's DynamoDB is not thread-safe: two conditional puts can both pass their condition,
and TransactWriteItems deep-copies every table it touches (cost growing with the table)
and, on cancellation, swaps the copy back in, dropping concurrent writes and leaving
stream records of writes that were rolled back. Here every DynamoDB call holds one lock,
and a transaction checks all its conditions before it writes anything. And what grows with a
table: a query reads its partition, and a data-plane answer is plain JSON.
"""

from __future__ import annotations

import base64
import json
import threading
from decimal import Decimal
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from localcloud.patching import Kind, Patch

LOCK = threading.RLock()
"""Held by every DynamoDB call (and by the readers of a table's stream: pollers, retention)."""

DATA_PLANE = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)
"""Operations whose results are already DynamoDB's wire form (AttributeValue maps)."""


def _atomic_call_action(self: DynamoHandler) -> Any:
    with LOCK:
        return _CALL_ACTION.original(self)


def _wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _fast_serialized(self: DynamoHandler, action_result: ActionResult) -> Any:
    """JSON-encode a data-plane result directly.

    moto's generic serializer walks botocore's shapes attribute by attribute, which costs
    milliseconds per item and dominated the local cloud's CPU; for these operations the
    result is already in wire form, so plain JSON is the same response
    (tests/localcloud/test_patches.py compares the two).
    """
    result = action_result.result
    if self._get_action() not in DATA_PLANE or isinstance(result, Exception):
        return _SERIALIZED.original(self, action_result)
    body = json.dumps(result, default=_wire, separators=(",", ":"))
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _check(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> tuple[Any, ...]:
    """(None, None, None) if the operation's condition holds, else its cancellation reason."""
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    current = backend.get_item(op["TableName"], key)
    expression = get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if expression.expr(current):
        return (None, None, None)
    old = (
        current.to_json()["Attributes"]
        if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        else None
    )
    return ("ConditionalCheckFailed", ConditionalCheckFailed().message, old)


def _write(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(
            op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
        )
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names or {},
            expression_attribute_values=values or {},
        )


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """All or nothing: every condition is checked first; if any fails, nothing is written."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with LOCK:
        operations = []
        seen: set[tuple[str, str]] = set()
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            key = _key_of(self, op_type, op)
            target = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if target in seen:
                raise MultipleTransactionsException()
            seen.add(target)
            operations.append((op_type, op, key))
        reasons = [_check(self, op_type, op, key) for op_type, op, key in operations]
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        for op_type, op, key in operations:
            _write(self, op_type, op, key)


_querying = threading.local()


def _all_items(self: Table) -> list[Item]:
    """During a query: the queried partition only (moto sorts it), of the table or of an index."""
    only: tuple[Table, list[Item]] | None = getattr(_querying, "partition", None)
    if only is None or only[0] is not self:
        return _ALL_ITEMS.original(self)  # type: ignore[no-any-return]  # Patch.original is untyped
    return only[1]


def _table_partition(self: Table, hash_key: DynamoType) -> list[Item]:
    partition: Any = self.items.get(hash_key, {})
    if not self.range_key_attr:
        return [partition] if partition else []
    return list(partition.values())


def _index_partition(self: Table, index_name: str, hash_key: DynamoType) -> list[Item] | None:
    """The items an index holds under `hash_key` (None: an index moto must answer itself)."""
    index = next((i for i in self.all_indexes() if i.name == index_name), None)
    hashes = [] if index is None else [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if len(hashes) != 1:  # unknown (moto raises its error) or a multi-attribute key
        return None
    rows: Any = self.items.values()
    items = [i for row in rows for i in row.values()] if self.range_key_attr else list(rows)
    # Unsorted (moto's all_items sorts the whole table): moto sorts the partition by the index's keys.
    return [
        item
        for item in items
        if (found := item.attrs.get(hashes[0])) is not None
        and found.type == hash_key.type
        and found.value == hash_key.value
    ]


def _query_one_partition(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    """moto answers a Query by scanning every item of the table (all partitions), sorted: a
    cost that grows with the table, which made the event store's reads quadratic over a long
    run, and an index query (the saga console's list: one per state) cost the whole table
    each. A query reads one partition, as DynamoDB does: of the table, or of the index (its
    items picked by the one hash attribute, then answered by moto as before)."""
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if hash_key is None:
        return _QUERY.original(self, hash_key, *args, **kwargs)
    partition = _index_partition(self, index_name, hash_key) if index_name else _table_partition(self, hash_key)
    if partition is None:
        return _QUERY.original(self, hash_key, *args, **kwargs)
    _querying.partition = (self, partition)
    try:
        return _QUERY.original(self, hash_key, *args, **kwargs)
    finally:
        _querying.partition = None


PATCHES = (
    _CALL_ACTION := Patch(
        owner=DynamoHandler,
        name="call_action",
        replacement=_atomic_call_action,
        kind=Kind.GAP,
        why="moto's DynamoDB is not thread-safe: two conditional puts could both pass their "
        "condition. Every DynamoDB call holds one lock, as each item write is atomic on AWS.",
    ),
    _SERIALIZED := Patch(
        owner=DynamoHandler,
        name="serialized",
        replacement=_fast_serialized,
        kind=Kind.SPEED,
        why="moto serializes a data-plane answer through botocore's shapes, attribute by attribute "
        "(milliseconds per item); it is already in wire form: plain JSON is the same response.",
    ),
    Patch(
        owner=DynamoDBBackend,
        name="transact_write_items",
        replacement=_transact_write_items,
        kind=Kind.GAP | Kind.SPEED,
        why="moto deep-copies every table a transaction touches and, on cancellation, swaps the "
        "copy back in: concurrent writes were dropped, and stream records of rolled-back writes "
        "kept. Here all conditions are checked first, and nothing is written if one fails.",
    ),
    _QUERY := Patch(
        owner=Table,
        name="query",
        replacement=_query_one_partition,
        kind=Kind.SPEED,
        why="moto answers a Query by sorting every item of the table: the event store's reads went "
        "quadratic over a long run. A query reads its partition (of the table or the index).",
    ),
    _ALL_ITEMS := Patch(
        owner=Table,
        name="all_items",
        replacement=_all_items,
        kind=Kind.SPEED,
        why="What moto's Query reads: during a query, the queried partition only (with Table.query).",
    ),
)
