"""The demo reference data: a small medication catalogue and its stock, written through the stack's outputs.

The order kinds (`harness.orders`) are defined against it: which medications are stocked,
which one is in the catalogue without stock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra import names
from lambdas.adapters.business_tables import DynamoDBCatalogue, read_stock, set_available

if TYPE_CHECKING:
    from harness.target import Target

DEMO_CATALOGUE: dict[str, tuple[str, int]] = {
    "med-1": ("Amoxicillin 500 mg", 3),
    "med-2": ("Lisinopril 10 mg", 2),
    "med-3": ("Metformin 850 mg", 6),
    "med-4": ("Atorvastatin 20 mg", 3),
    "med-scarce": ("Insulin glargine pen", 5),
}
"""medication id -> (name, per-prescription maximum)."""

DEMO_STOCK: dict[str, int] = {"med-1": 500, "med-2": 500, "med-3": 500, "med-4": 500, "med-scarce": 0}


def seed(target: Target) -> None:
    """Write the demo catalogue and its stock into the stack's tables."""
    for medication_id, (name, maximum) in DEMO_CATALOGUE.items():
        add_to_catalogue(target, medication_id, name, maximum)
    for medication_id, quantity in DEMO_STOCK.items():
        set_stock(target, medication_id, quantity)


def add_to_catalogue(target: Target, medication_id: str, name: str, max_per_prescription: int) -> None:
    """Write (or overwrite) one catalogue entry."""
    target.client("dynamodb").put_item(
        TableName=target.output(names.OUTPUT_CATALOGUE_TABLE),
        Item={
            "medication_id": {"S": medication_id},
            "name": {"S": name},
            "max_per_prescription": {"N": str(max_per_prescription)},
        },
    )


def in_catalogue(target: Target, medication_id: str) -> bool:
    """Whether the catalogue lists the medication: the one the saga reads when it writes a prescription."""
    catalogue = DynamoDBCatalogue(target.client("dynamodb"), target.output(names.OUTPUT_CATALOGUE_TABLE))
    return medication_id in catalogue.entries([medication_id])


def set_stock(target: Target, medication_id: str, available: int) -> None:
    set_available(target.client("dynamodb"), target.output(names.OUTPUT_INVENTORY_TABLE), medication_id, available)


def stock(target: Target) -> dict[str, tuple[int, int]]:
    """medication id -> (available, reserved)."""
    return read_stock(target.client("dynamodb"), target.output(names.OUTPUT_INVENTORY_TABLE))
