"""The contracts' DynamoDB tables are the synthesized template's tables: same keys, same indexes."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.deploy import CloudAssembly
from tests.contract.tables import SHAPES


def _shape(properties: dict[str, Any]) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": sorted(properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
    }
    if "GlobalSecondaryIndexes" in properties:
        shape["GlobalSecondaryIndexes"] = [
            {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    return shape


@pytest.fixture(scope="module")
def template_tables(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    """The template's tables by logical id without CDK's hash suffix."""
    tables = {
        logical_id[:-8]: _shape(resource["Properties"])
        for logical_id, resource in assembly.template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }
    assert tables, "the template has tables"
    return tables


def test_every_table_of_the_template_has_a_contract_shape(template_tables: dict[str, Any]) -> None:
    assert set(SHAPES) == set(template_tables)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_contract_table_has_the_templates_keys_attributes_and_indexes(
    name: str, template_tables: dict[str, Any]
) -> None:
    assert _shape(SHAPES[name]) == template_tables[name]
