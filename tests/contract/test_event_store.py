"""The event store contract, written once, run against the in-memory store and the DynamoDB store."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.logic.ports import EventStore
from localcloud import patches
from tests.concurrency import at_once
from tests.fakes import create_events_table


def _dynamodb_store() -> DynamoDBEventStore:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_events_table(client)
    return DynamoDBEventStore(client, "events")


@pytest.fixture(params=["in-memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    if request.param == "in-memory":
        yield InMemoryEventStore()
        return
    patches.apply_patches()  # DynamoDB as atomic as the real one under threads (localcloud/patches/dynamodb.py)
    with mock_aws():
        yield _dynamodb_store()


def event(stream: str, version: int, order_id: str = "o") -> ev.StoredEvent:
    return ev.new_stored_event(
        ev.OrderCancelled(order_id=order_id, reason=f"v{version}"),
        stream_id=stream,
        version=version,
        causation_id="c",
        source="test",
    )


def test_appended_events_read_back_in_version_order_unchanged(store: EventStore) -> None:
    written = [event("s", 1), event("s", 2), event("s", 3)]
    store.append(written[:2])
    store.append(written[2:])
    assert store.read("s") == written


def test_appending_an_existing_position_is_a_concurrency_conflict(store: EventStore) -> None:
    store.append([event("s", 1)])
    with pytest.raises(ConcurrencyConflict):
        store.append([event("s", 1)])


def test_a_multi_event_append_is_atomic(store: EventStore) -> None:
    # Every writer appends right after the version it read (SagaRepository.save): an append that
    # lost the race finds its first position taken, and writes none of its events.
    store.append([event("s", 1, "winner")])
    with pytest.raises(ConcurrencyConflict):
        store.append([event("s", 1, "late"), event("s", 2, "late"), event("s", 3, "late")])
    assert [(e.version, e.metadata.correlation_id) for e in store.read("s")] == [(1, "winner")]
    store.append([event("s", 2), event("s", 3)])
    assert [e.version for e in store.read("s")] == [1, 2, 3]


def test_streams_are_independent_and_iter_all_yields_each_in_order(store: EventStore) -> None:
    store.append([event("a", 1, "a"), event("a", 2, "a")])
    store.append([event("b", 1, "b")])
    everything = list(store.iter_all())
    assert sorted((e.stream_id, e.version) for e in everything) == [("a", 1), ("a", 2), ("b", 1)]
    a_versions = [e.version for e in everything if e.stream_id == "a"]
    assert a_versions == [1, 2]
    assert store.read("missing") == []


def test_concurrent_appends_at_one_position_let_exactly_one_win(store: EventStore) -> None:
    def writer(n: int) -> str:
        try:
            store.append([event("race", 1, f"w{n}"), event("race", 2, f"w{n}")])
        except ConcurrencyConflict:
            return "conflict"
        return "won"

    outcomes = at_once(12, writer)
    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == 11
    assert len({e.metadata.correlation_id for e in store.read("race")}) == 1, "both events from the one winner"


def test_a_stream_longer_than_one_page_is_read_whole_and_in_order() -> None:
    # DynamoDB answers a Query in pages of at most 1 MB; the store follows LastEvaluatedKey.
    from botocore.stub import Stubber

    from lambdas.adapters.event_codec import to_item

    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    written = [event("long", v) for v in (1, 2, 3)]
    query = {
        "TableName": "events",
        "KeyConditionExpression": "pk = :stream",
        "ExpressionAttributeValues": {":stream": {"S": "long"}},
        "ConsistentRead": True,
    }
    last = {"pk": {"S": "long"}, "sk": {"N": "2"}}
    with Stubber(client) as stub:
        stub.add_response("query", {"Items": [to_item(e) for e in written[:2]], "LastEvaluatedKey": last}, query)
        stub.add_response("query", {"Items": [to_item(written[2])]}, {**query, "ExclusiveStartKey": last})
        assert DynamoDBEventStore(client, "events").read("long") == written
        stub.assert_no_pending_responses()


def test_a_stale_single_event_append_is_refused_and_exactly_one_of_two_racing_wins(store: EventStore) -> None:
    store.append([event("r", 1), event("r", 2)])

    def writer(n: int) -> str:
        try:
            store.append([event("r", 3, f"w{n}")])
        except ConcurrencyConflict:
            return "conflict"
        return "won"

    assert sorted(at_once(2, writer)) == ["conflict", "won"]
    with pytest.raises(ConcurrencyConflict):
        store.append([event("r", 3, "stale")])
    assert [e.version for e in store.read("r")] == [1, 2, 3]


@pytest.fixture
def dynamodb() -> Iterator[tuple[DynamoDBEventStore, list[str]]]:
    """The DynamoDB store, and the name of every operation its client sends."""
    with mock_aws():
        store = _dynamodb_store()
        sent: list[str] = []
        store._client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: sent.append(model.name), unique_id="sent"
        )
        yield store, sent


def test_an_append_of_several_events_is_one_conditional_put_not_a_transaction(
    dynamodb: tuple[DynamoDBEventStore, list[str]],
) -> None:
    # A transaction writes every item twice (prepare, commit): two write units per event, where
    # one item holding the append is one unit per started kilobyte (DynamoDB developer guide,
    # "Amazon DynamoDB Transactions: How it works", capacity management for transactions).
    store, sent = dynamodb
    store.append([event("s", 1), event("s", 2), event("s", 3)])
    assert sent == ["PutItem"]
    assert [e.version for e in store.read("s")] == [1, 2, 3]


def test_events_stored_one_item_each_read_back_beside_later_appends(
    dynamodb: tuple[DynamoDBEventStore, list[str]],
) -> None:
    # Given a stream written one item per event (the layout of every event stored before)
    from lambdas.adapters.event_codec import to_item

    store, _ = dynamodb
    earlier = [event("s", 1), event("s", 2)]
    for e in earlier:
        store._client.put_item(TableName="events", Item=to_item(e))
    # When an append of two more follows
    later = [event("s", 3), event("s", 4)]
    store.append(later)
    # Then the stream reads whole and in order, by read and by iter_all
    assert store.read("s") == earlier + later
    assert list(store.iter_all()) == earlier + later


def test_what_the_stream_carries_of_an_append_is_each_of_its_events(
    dynamodb: tuple[DynamoDBEventStore, list[str]],
) -> None:
    from lambdas.handlers.stream import inserted

    store, _ = dynamodb
    appended = [event("s", 1), event("s", 2), event("s", 3)]
    store.append(appended)
    (item,) = store._client.scan(TableName="events")["Items"]
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": item, "SequenceNumber": "7"}}
    assert [(r.sequence_number, r.event) for r in inserted([record])] == [("7", e) for e in appended]


def test_an_append_too_large_for_one_item_is_one_transaction_still(
    dynamodb: tuple[DynamoDBEventStore, list[str]],
) -> None:
    # DynamoDB refuses an item over 400 KB; three events of 150 KB each still go in atomically.
    store, sent = dynamodb
    large = [
        ev.new_stored_event(
            ev.OrderCancelled(order_id="o", reason="x" * 150_000),
            stream_id="big",
            version=v,
            causation_id="c",
            source="t",
        )
        for v in (1, 2, 3)
    ]
    store.append(large)
    assert sent == ["TransactWriteItems"]
    assert store.read("big") == large
    with pytest.raises(ConcurrencyConflict):
        store.append([event("big", 3)])
