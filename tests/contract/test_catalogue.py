"""The catalogue contract, written once, run against the fake and the DynamoDB catalogue.

Create Prescription asks the catalogue for the order's medications and refuses a line whose
medication is missing or whose quantity is above the entry's per-prescription maximum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.business_tables import DynamoDBCatalogue
from lambdas.domain.order import MAX_LINES
from lambdas.domain.rules import CatalogueEntry
from lambdas.logic.ports import Catalogue
from tests.contract.tables import create_table
from tests.fakes import FakeCatalogue


@dataclass
class Shelf:
    catalogue: Catalogue
    list_medication: Callable[[str, int], None]
    """Put a medication in the catalogue with its per-prescription maximum (reference data)."""


@pytest.fixture(params=["fake", "dynamodb"])
def shelf(request: pytest.FixtureRequest) -> Iterator[Shelf]:
    if request.param == "fake":
        fake = FakeCatalogue()
        yield Shelf(fake, lambda med, most: fake.items.__setitem__(med, CatalogueEntry(med, most)))
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = create_table(client, "BusinessTablesCatalogue", "catalogue")

        def list_medication(med: str, most: int) -> None:
            # As the seed writes it: a name beside the maximum, which the port does not return.
            item = {
                "medication_id": {"S": med},
                "name": {"S": f"{med} 10 mg"},
                "max_per_prescription": {"N": str(most)},
            }
            client.put_item(TableName=table, Item=item)

        yield Shelf(DynamoDBCatalogue(client, table), list_medication)


def test_each_listed_medication_is_answered_with_its_per_prescription_maximum(shelf: Shelf) -> None:
    shelf.list_medication("med-1", 3)
    shelf.list_medication("med-2", 2)
    shelf.list_medication("med-other", 9)
    assert dict(shelf.catalogue.entries(["med-1", "med-2"])) == {
        "med-1": CatalogueEntry("med-1", 3),
        "med-2": CatalogueEntry("med-2", 2),
    }


def test_a_medication_not_in_the_catalogue_is_absent_from_the_answer_not_an_error(shelf: Shelf) -> None:
    shelf.list_medication("med-1", 3)
    assert dict(shelf.catalogue.entries(["med-1", "med-unknown"])) == {"med-1": CatalogueEntry("med-1", 3)}
    assert dict(shelf.catalogue.entries(["med-unknown"])) == {}


def test_a_medication_asked_for_twice_is_answered_once(shelf: Shelf) -> None:
    shelf.list_medication("med-1", 3)
    assert dict(shelf.catalogue.entries(["med-1", "med-1"])) == {"med-1": CatalogueEntry("med-1", 3)}


def test_every_medication_of_an_order_with_the_most_lines_allowed_is_found(shelf: Shelf) -> None:
    medications = [f"med-{n}" for n in range(MAX_LINES)]
    for n, med in enumerate(medications):
        shelf.list_medication(med, n + 1)
    found = shelf.catalogue.entries(medications)
    assert {med: entry.max_per_prescription for med, entry in found.items()} == {
        med: n + 1 for n, med in enumerate(medications)
    }


def test_medications_dynamodb_leaves_unprocessed_are_asked_for_again() -> None:
    # Throttled, BatchGetItem answers part of the keys and hands back the rest as UnprocessedKeys.
    from botocore.stub import Stubber

    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    keys = [{"medication_id": {"S": med}} for med in ("med-1", "med-2")]

    def item(med: str, most: int) -> dict[str, dict[str, str]]:
        return {"medication_id": {"S": med}, "max_per_prescription": {"N": str(most)}}

    with Stubber(client) as stub:
        stub.add_response(
            "batch_get_item",
            {"Responses": {"catalogue": [item("med-1", 3)]}, "UnprocessedKeys": {"catalogue": {"Keys": keys[1:]}}},
            {"RequestItems": {"catalogue": {"Keys": keys}}},
        )
        stub.add_response(
            "batch_get_item",
            {"Responses": {"catalogue": [item("med-2", 2)]}, "UnprocessedKeys": {}},
            {"RequestItems": {"catalogue": {"Keys": keys[1:]}}},
        )
        found = DynamoDBCatalogue(client, "catalogue").entries(["med-1", "med-2"])
        stub.assert_no_pending_responses()
    assert dict(found) == {"med-1": CatalogueEntry("med-1", 3), "med-2": CatalogueEntry("med-2", 2)}
