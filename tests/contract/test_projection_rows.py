"""The projector's batch port, `ProjectionRows` (lambdas/logic/ports.py): the projection store
plus `get_each`, the batch read whose rows are decoded one by one, so that a row which cannot be
decoded fails only its own saga. Run against the fake and the DynamoDB projection."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from lambdas.adapters.dynamodb_projection import DynamoDBProjection
from lambdas.logic.ports import ProjectionRows
from localcloud import patches
from tests.contract.tables import create_table
from tests.contract.test_projection_store import projection, view

__all__ = ["ProjectionRows", "projection"]


def test_get_each_reads_the_rows_that_exist_and_each_decodes_to_what_was_written(projection: ProjectionRows) -> None:
    written = [view(f"o-{n}", version=n + 1, at=n) for n in range(3)]
    for row in written:
        projection.put(row, None)
    found = projection.get_each(["o-0", "o-2", "o-missing", "o-2"])
    assert set(found) == {"o-0", "o-2"}, "a missing row is left out, a repeated id answered once"
    assert found["o-0"]() == written[0]
    assert found["o-2"]() == written[2]


def test_get_each_of_nothing_reads_nothing(projection: ProjectionRows) -> None:
    assert dict(projection.get_each([])) == {}


def test_a_row_that_cannot_be_decoded_fails_only_when_its_own_entry_is_called() -> None:
    patches.apply_patches()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = create_table(client, "EventStoreSagas", "sagas")
        rows: ProjectionRows = DynamoDBProjection(client, table)
        rows.put(view("o-good"), None)
        rows.put(view("o-bad"), None)
        client.update_item(  # a state no SagaState names: written by hand, or by a newer version
            TableName=table,
            Key={"order_id": {"S": "o-bad"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": {"S": "NOT-A-STATE"}},
        )
        found = rows.get_each(["o-good", "o-bad"])
        assert found["o-good"]() == view("o-good")
        with pytest.raises(ValidationError):
            found["o-bad"]()
