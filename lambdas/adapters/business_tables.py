"""Catalogue, prescriptions, inventory reservations and shipments on DynamoDB.

Every write is conditional, so each operation done twice has the effect of doing it once.

An undo can run before the step it undoes: a step that timed out is compensated while its
Lambda may still be running, and may write afterwards. So undoing a record that does not
exist yet leaves it in its undone status (a tombstone: key and status, nothing else), and a
step that finds its record undone refuses to act (ConcurrencyConflict): nothing it creates
can outlive its compensation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.adapters.event_codec import NO_EVENT_AT_KEY, event_key
from lambdas.domain.errors import ConcurrencyConflict, InventoryReservationFailed
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.rules import CatalogueEntry
from lambdas.logic.ports import StreamGuard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef, UpdateTypeDef

ACTIVE = "ACTIVE"
CANCELLED = "CANCELLED"
RESERVED = "RESERVED"
RELEASED = "RELEASED"
INITIATED = "INITIATED"


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _transition(client: DynamoDBClient, table: str, key: dict[str, Any], from_status: str, to_status: str) -> bool:
    """Move a record from one status to another; False when it was not in `from_status` (or absent)."""
    try:
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #status = :to",
            ConditionExpression="#status = :from",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":to": {"S": to_status}, ":from": {"S": from_status}},
        )
    except ClientError as error:
        if _code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _put_if_absent(client: DynamoDBClient, table: str, item: dict[str, Any], key_name: str) -> dict[str, Any] | None:
    """Put `item` unless its record exists: None when written, else the record found."""
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(#key)",
            ExpressionAttributeNames={"#key": key_name},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if _code(error) != "ConditionalCheckFailedException":
            raise
        # ReturnValuesOnConditionCheckFailure=ALL_OLD: the error carries the item it found.
        found = error.response.get("Item")
        return found if isinstance(found, dict) else {}
    return None


def _put_tombstone(client: DynamoDBClient, table: str, key: dict[str, Any], undone_status: str) -> bool:
    """Mark a record that was never created as undone; False when it exists after all."""
    (key_name,) = key
    return _put_if_absent(client, table, {**key, "status": {"S": undone_status}}, key_name) is None


def _undo(client: DynamoDBClient, table: str, key: dict[str, Any], done_status: str, undone_status: str) -> bool:
    """Undo a record: True when it was done; absent, it is left undone so it cannot be done later."""
    if _transition(client, table, key, done_status, undone_status):
        return True
    if _put_tombstone(client, table, key, undone_status):
        return False
    return _transition(client, table, key, done_status, undone_status)  # created between the two


def _create_once(client: DynamoDBClient, table: str, item: dict[str, Any], key_name: str, undone_status: str) -> None:
    """Put `item` unless its record exists: a repeat changes nothing; an undone record refuses."""
    existing = _put_if_absent(client, table, item, key_name)
    if existing is not None and existing.get("status", {}).get("S") == undone_status:
        raise ConcurrencyConflict(f"{key_name} {item[key_name]['S']} was undone before it was done")


def _lines_json(lines: Sequence[OrderLine]) -> str:
    return json.dumps([line.model_dump() for line in lines], separators=(",", ":"))


class DynamoDBCatalogue:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def entries(self, medication_ids: Sequence[str]) -> Mapping[str, CatalogueEntry]:
        keys = [{"medication_id": {"S": med}} for med in dict.fromkeys(medication_ids)]
        found: dict[str, CatalogueEntry] = {}
        request: dict[str, Any] = {self._table: {"Keys": keys}}
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self._table, []):
                entry = CatalogueEntry(item["medication_id"]["S"], int(item["max_per_prescription"]["N"]))
                found[entry.medication_id] = entry
            request = response.get("UnprocessedKeys") or {}
        return found


class DynamoDBPrescriptions:
    applies_its_own_rules = False
    """A table has no rules: the saga checks the order against its catalogue first."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, prescription_id: str, order_id: str, lines: Sequence[OrderLine], *, patient_id: str) -> None:
        # The patient stays in the saga's own event store; this table never held it.
        item = {
            "prescription_id": {"S": prescription_id},
            "order_id": {"S": order_id},
            "status": {"S": ACTIVE},
            "lines": {"S": _lines_json(lines)},
        }
        _create_once(self._client, self._table, item, "prescription_id", CANCELLED)

    def cancel(self, prescription_id: str) -> bool:
        return _undo(self._client, self._table, {"prescription_id": {"S": prescription_id}}, ACTIVE, CANCELLED)


class DynamoDBInventory:
    """Stock per medication (`available`, `reserved`) and the reservations that hold it."""

    def __init__(
        self,
        client: DynamoDBClient,
        inventory_table: str,
        reservations_table: str,
        event_store_table: str | None = None,
    ) -> None:
        self._client = client
        self._inventory = inventory_table
        self._reservations = reservations_table
        self._events = event_store_table

    def reserve(
        self, reservation_id: str, order_id: str, lines: Sequence[OrderLine], guard: StreamGuard | None = None
    ) -> None:
        record: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self._reservations,
                "Item": {
                    "reservation_id": {"S": reservation_id},
                    "order_id": {"S": order_id},
                    "status": {"S": RESERVED},
                    "lines": {"S": _lines_json(lines)},
                },
                "ConditionExpression": "attribute_not_exists(reservation_id)",
            }
        }
        takes = [self._stock_change(line, -line.quantity, guard=True) for line in lines]
        # A slow step must not reserve after its saga moved on (to compensation, say): the
        # reservation holds only while no event was appended after the version it acted on.
        checks = [self._unchanged(self._events, guard)] if guard is not None and self._events else []
        try:
            self._client.transact_write_items(TransactItems=[record, *checks, *takes])
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if _code(error) != "TransactionCanceledException":
                raise
            if reasons and reasons[0] == "ConditionalCheckFailed":
                if self._status(reservation_id) == RELEASED:
                    raise ConcurrencyConflict(
                        f"reservation {reservation_id} was released before it was made"
                    ) from error
                return  # this reservation exists already: reserving again changes nothing
            if checks and reasons[1] == "ConditionalCheckFailed":
                raise ConcurrencyConflict("the saga moved on before the reservation; nothing reserved") from error
            line_reasons = reasons[1 + len(checks) :]
            short = [n for n, code in enumerate(line_reasons, start=1) if code == "ConditionalCheckFailed"]
            if short:
                raise InventoryReservationFailed(f"line {short[0]}: not enough stock") from error
            if "TransactionConflict" in reasons:
                raise ConcurrencyConflict("inventory changed during the reservation") from error
            raise

    def _unchanged(self, events_table: str, guard: StreamGuard) -> TransactWriteItemTypeDef:
        return {
            "ConditionCheck": {
                "TableName": events_table,
                "Key": event_key(guard.stream_id, guard.version + 1),
                "ConditionExpression": NO_EVENT_AT_KEY,
            }
        }

    def _read(self, reservation_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._client.get_item(
            TableName=self._reservations, Key={"reservation_id": {"S": reservation_id}}, ConsistentRead=True
        ).get("Item")
        return found

    def _status(self, reservation_id: str) -> str | None:
        found = self._read(reservation_id)
        return found["status"]["S"] if found else None

    def release(self, reservation_id: str) -> bool:
        found = self._read(reservation_id)
        if not found:
            key = {"reservation_id": {"S": reservation_id}}
            if _put_tombstone(self._client, self._reservations, key, RELEASED):
                return False  # never reserved; and now it cannot be
            found = self._read(reservation_id)  # reserved between the two
        if not found or found["status"]["S"] != RESERVED:
            return False
        lines = [OrderLine.model_validate(line) for line in json.loads(found["lines"]["S"])]
        mark_released: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self._reservations,
                "Key": {"reservation_id": {"S": reservation_id}},
                "UpdateExpression": "SET #status = :released",
                "ConditionExpression": "#status = :reserved",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":released": {"S": RELEASED}, ":reserved": {"S": RESERVED}},
            }
        }
        returns = [self._stock_change(line, line.quantity, guard=False) for line in lines]
        try:
            self._client.transact_write_items(TransactItems=[mark_released, *returns])
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if _code(error) == "TransactionCanceledException" and reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # released by a concurrent run of this compensation
            if _code(error) == "TransactionCanceledException" and "TransactionConflict" in reasons:
                raise ConcurrencyConflict("inventory changed during the release") from error
            raise
        return True

    def _stock_change(self, line: OrderLine, delta: int, *, guard: bool) -> TransactWriteItemTypeDef:
        values: dict[str, AttributeValueTypeDef] = {":delta": {"N": str(delta)}}
        update: UpdateTypeDef = {
            "TableName": self._inventory,
            "Key": {"medication_id": {"S": line.medication_id}},
            "UpdateExpression": "SET available = available + :delta, reserved = reserved - :delta",
            "ExpressionAttributeValues": values,
        }
        if guard:
            update["ConditionExpression"] = "available >= :quantity"
            values[":quantity"] = {"N": str(-delta)}
        return {"Update": update}


class DynamoDBShipments:
    applies_its_own_rules = False
    """A table has no rules: the saga checks the address first."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def initiate(
        self, shipment_id: str, order_id: str, ships_to: str, *, patient_id: str, address: ShippingAddress | None
    ) -> None:
        # Where it goes is enough here; the patient and the address stay in the saga's own event store.
        item = {
            "shipment_id": {"S": shipment_id},
            "order_id": {"S": order_id},
            "ships_to": {"S": ships_to},
            "status": {"S": INITIATED},
        }
        _create_once(self._client, self._table, item, "shipment_id", CANCELLED)

    def cancel(self, shipment_id: str) -> bool:
        return _undo(self._client, self._table, {"shipment_id": {"S": shipment_id}}, INITIATED, CANCELLED)


# --- operator actions (the CLI and the local cloud's seeding), not used by the saga itself ---


def set_available(client: DynamoDBClient, inventory_table: str, medication_id: str, available: int) -> None:
    """Set a medication's available stock; what is reserved stays reserved."""
    client.update_item(
        TableName=inventory_table,
        Key={"medication_id": {"S": medication_id}},
        UpdateExpression="SET available = :available, reserved = if_not_exists(reserved, :zero)",
        ExpressionAttributeValues={":available": {"N": str(available)}, ":zero": {"N": "0"}},
    )


def read_stock(client: DynamoDBClient, inventory_table: str) -> dict[str, tuple[int, int]]:
    """medication id -> (available, reserved)."""
    found = {}
    for page in client.get_paginator("scan").paginate(TableName=inventory_table, ConsistentRead=True):
        for item in page["Items"]:
            found[item["medication_id"]["S"]] = (int(item["available"]["N"]), int(item["reserved"]["N"]))
    return dict(sorted(found.items()))
