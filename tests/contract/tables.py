"""The DynamoDB tables the adapters run on, shaped as the synthesized template shapes them.

Written out here so that a contract runs in a second, without synthesis;
`test_table_shapes` checks every shape against the synthesized template, so they cannot drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.contract import STATE_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _keyed_by(partition: str, sort: tuple[str, str] | None = None) -> dict[str, Any]:
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    attributes = [{"AttributeName": partition, "AttributeType": "S"}]
    if sort is not None:
        schema.append({"AttributeName": sort[0], "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort[0], "AttributeType": sort[1]})
    return {"KeySchema": schema, "AttributeDefinitions": attributes}


def _sagas() -> dict[str, Any]:
    shape = _keyed_by("order_id")
    shape["AttributeDefinitions"] += [
        {"AttributeName": "state", "AttributeType": "S"},
        {"AttributeName": "updated_at", "AttributeType": "S"},
    ]
    shape["GlobalSecondaryIndexes"] = [
        {
            "IndexName": STATE_INDEX,
            "KeySchema": [
                {"AttributeName": "state", "KeyType": "HASH"},
                {"AttributeName": "updated_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    return shape


SHAPES: dict[str, dict[str, Any]] = {
    "EventStoreEvents": _keyed_by("pk", ("sk", "N")),
    "EventStoreSagas": _sagas(),
    "BusinessTablesCatalogue": _keyed_by("medication_id"),
    "BusinessTablesInventory": _keyed_by("medication_id"),
    "BusinessTablesPrescriptions": _keyed_by("prescription_id"),
    "BusinessTablesReservations": _keyed_by("reservation_id"),
    "BusinessTablesShipments": _keyed_by("shipment_id"),
}
"""Each table's key schema, attributes and indexes, by the template's logical id (less its hash)."""


def create_table(dynamodb: DynamoDBClient, shape: str, name: str) -> str:
    """Create table `name` shaped as the template's `shape` table (on demand, as there); its name."""
    dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **SHAPES[shape])
    return name
