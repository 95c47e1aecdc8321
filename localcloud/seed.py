"""Demo reference data: a small medication catalogue and stock, written through the stack's outputs."""

from __future__ import annotations

from typing import Any

from infra import names

DEMO_CATALOGUE: dict[str, tuple[str, int]] = {
    "med-1": ("Amoxicillin 500 mg", 3),
    "med-2": ("Lisinopril 10 mg", 2),
    "med-3": ("Metformin 850 mg", 6),
    "med-4": ("Atorvastatin 20 mg", 3),
    "med-scarce": ("Insulin glargine pen", 5),
}
"""medication id -> (name, per-prescription maximum)."""

DEMO_STOCK: dict[str, int] = {"med-1": 500, "med-2": 500, "med-3": 500, "med-4": 500, "med-scarce": 0}


def seed(dynamodb: Any, outputs: dict[str, str]) -> None:
    catalogue = outputs[names.OUTPUT_CATALOGUE_TABLE]
    for medication_id, (name, maximum) in DEMO_CATALOGUE.items():
        dynamodb.put_item(
            TableName=catalogue,
            Item={
                "medication_id": {"S": medication_id},
                "name": {"S": name},
                "max_per_prescription": {"N": str(maximum)},
            },
        )
    for medication_id, quantity in DEMO_STOCK.items():
        set_stock(dynamodb, outputs, medication_id, quantity)


def set_stock(dynamodb: Any, outputs: dict[str, str], medication_id: str, available: int) -> None:
    """Set the available stock of a medication; what is reserved stays reserved."""
    dynamodb.update_item(
        TableName=outputs[names.OUTPUT_INVENTORY_TABLE],
        Key={"medication_id": {"S": medication_id}},
        UpdateExpression="SET available = :available, reserved = if_not_exists(reserved, :zero)",
        ExpressionAttributeValues={":available": {"N": str(available)}, ":zero": {"N": "0"}},
    )


def stock(dynamodb: Any, outputs: dict[str, str]) -> dict[str, tuple[int, int]]:
    """medication id -> (available, reserved)."""
    found = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=outputs[names.OUTPUT_INVENTORY_TABLE]):
        for item in page["Items"]:
            found[item["medication_id"]["S"]] = (int(item["available"]["N"]), int(item["reserved"]["N"]))
    return found
