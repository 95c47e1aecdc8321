"""The task tokens contract, written once, run against the fake and the DynamoDB table.

The waiting task's function keeps its token by order id; the function that takes a pharmacist's
answer finds it there. A retried task has a new token (Step Functions issues one per attempt:
developer guide, "Wait for a Callback with Task Token"), which replaces the old one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.task_tokens import DynamoDBTaskTokens
from lambdas.logic.ports import TaskTokens
from tests.fakes import FakeTaskTokens

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EXPIRES = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def _table() -> DynamoDBClient:
    """The stack's table, as infra/tables.py keys it (by order id), on moto."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="tokens",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


@pytest.fixture(params=["fake", "dynamodb"])
def tokens(request: pytest.FixtureRequest) -> Iterator[TaskTokens]:
    if request.param == "fake":
        yield FakeTaskTokens()
        return
    with mock_aws():
        dynamodb = _table()
        yield DynamoDBTaskTokens(dynamodb, "tokens")


def test_an_order_with_no_waiting_task_has_no_token(tokens: TaskTokens) -> None:
    assert tokens.find("o-1") is None


def test_a_kept_token_is_found_by_its_order(tokens: TaskTokens) -> None:
    tokens.keep("o-1", "token-1", EXPIRES)
    tokens.keep("o-2", "token-2", EXPIRES)
    assert (tokens.find("o-1"), tokens.find("o-2")) == ("token-1", "token-2")


def test_a_retried_tasks_token_replaces_the_old_one(tokens: TaskTokens) -> None:
    tokens.keep("o-1", "token-1", EXPIRES)
    tokens.keep("o-1", "token-2", EXPIRES + timedelta(minutes=1))
    assert tokens.find("o-1") == "token-2"


def test_the_table_forgets_a_token_by_its_ttl_attribute_in_epoch_seconds() -> None:
    # DynamoDB's TTL reads a Number attribute holding epoch seconds (DynamoDB developer guide, "Time to
    # Live"); the stack names that attribute on the table (infra/tables.py, tests/infra/test_verification.py).
    with mock_aws():
        dynamodb = _table()
        DynamoDBTaskTokens(dynamodb, "tokens").keep("o-1", "token-1", EXPIRES)
        item = dynamodb.get_item(TableName="tokens", Key={"order_id": {"S": "o-1"}})["Item"]
        assert item["expires_at"] == {"N": str(int(EXPIRES.timestamp()))}
