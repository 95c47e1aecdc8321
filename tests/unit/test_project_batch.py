"""The projector's batch, on fakes: which records are applied, which fail, and how the failures are reported.

A stream batch's partial failure is reported as `{"batchItemFailures": [{"itemIdentifier":
"<SequenceNumber>"}]}`; Lambda checkpoints at the lowest sequence number listed and retries
every record from there (AWS Lambda developer guide, "Configuring partial batch response with
DynamoDB and Lambda"). So a saga that fails lists all its records, its first one lowest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from lambdas.adapters.event_codec import to_item
from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.order import OrderCreated
from lambdas.domain.projection import SagaView, rebuild
from lambdas.domain.states import SagaState
from lambdas.handlers.batch import stream_batch_response
from lambdas.handlers.stream import inserted
from lambdas.logic.project import StreamRecord, project_batch
from lambdas.logic.repository import SagaRepository, stream_id_for


class Unreadable(Exception):
    """The projection's rows could not be read (a throttled BatchGetItem, say)."""


class Undecodable(Exception):
    """A row that is no saga view."""


@dataclass
class FakeRows:
    """The projection table: rows by order id, written only after the version they were read at."""

    rows: dict[str, SagaView] = field(default_factory=dict)
    undecodable: set[str] = field(default_factory=set)
    unseen: set[str] = field(default_factory=set)
    """Rows another writer put after the batch's read: the read misses them, a write finds them."""
    unreadable: bool = False
    reads: list[list[str]] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    def get_each(self, order_ids: Iterable[str]) -> Mapping[str, Callable[[], SagaView]]:
        wanted = list(order_ids)
        self.reads.append(wanted)
        if self.unreadable:
            raise Unreadable("throttled")
        present = (set(self.rows) | self.undecodable) - self.unseen
        return {o: self._row(o) for o in wanted if o in present}

    def _row(self, order_id: str) -> Callable[[], SagaView]:
        def decode() -> SagaView:
            if order_id in self.undecodable:
                raise Undecodable(order_id)
            return self.rows[order_id]

        return decode

    def put(self, view: SagaView, previous_version: int | None) -> None:
        current = self.rows.get(view.order_id)
        if (current.version if current else None) != previous_version:
            raise ConcurrencyConflict(f"projection row {view.order_id} moved on")
        self.rows[view.order_id] = view
        self.writes.append(view.order_id)

    def replace(self, view: SagaView) -> None:
        self.rows[view.order_id] = view
        self.writes.append(view.order_id)


def _started(store: InMemoryEventStore, *order_ids: str) -> dict[str, list[ev.StoredEvent]]:
    """Each order's saga started and its prescription created: each order's stored events."""
    repository = SagaRepository(store, source="test")
    for order_id in order_ids:
        saga = repository.load(order_id)
        saga.start(OrderCreated.model_validate({"order_id": order_id, "patient_id": "p", "medications": ["med-1"]}))
        repository.save(saga, causation_id="test")
        saga = repository.load(order_id)
        saga.record_prescription_created(f"rx-{order_id}")
        repository.save(saga, causation_id="test")
    return {order_id: store.read(stream_id_for(order_id)) for order_id in order_ids}


def _records(events: Iterable[ev.StoredEvent], first: int = 100) -> list[StreamRecord]:
    return [StreamRecord(str(first + n), e) for n, e in enumerate(events)]


def test_each_saga_of_the_batch_is_read_in_one_request_and_written_once() -> None:
    store, rows = InMemoryEventStore(), FakeRows()
    streams = _started(store, "o-1", "o-2")
    interleaved = [e for pair in zip(streams["o-1"], streams["o-2"], strict=True) for e in pair]
    projected = project_batch(rows, store, _records(interleaved))
    assert projected.failures == {}
    assert rows.reads == [["o-1", "o-2"]]
    assert sorted(rows.writes) == ["o-1", "o-2"]
    assert rows.rows == {o: rebuild(stream) for o, stream in streams.items()}
    assert rows.rows["o-1"].state is SagaState.PENDING_INVENTORY


def test_every_event_applied_for_the_first_time_is_reported_with_the_view_just_after_it() -> None:
    store, rows = InMemoryEventStore(), FakeRows()
    stream = _started(store, "o-1")["o-1"]
    projected = project_batch(rows, store, _records(stream))
    assert [a.event for a in projected.applied] == stream
    assert [a.view.version for a in projected.applied] == [e.version for e in stream]
    assert projected.applied[-1].view == rows.rows["o-1"]


def test_repeated_events_change_nothing_and_are_not_reported_as_applied() -> None:
    store, rows = InMemoryEventStore(), FakeRows()
    stream = _started(store, "o-1")["o-1"]
    project_batch(rows, store, _records(stream))
    before, writes = dict(rows.rows), list(rows.writes)
    projected = project_batch(rows, store, _records(stream + stream))
    assert (projected.failures, projected.applied) == ({}, [])
    assert rows.rows == before
    assert rows.writes == writes, "a batch of repeats writes nothing"


def test_a_batch_starting_past_the_row_rebuilds_it_from_the_event_store() -> None:
    store, rows = InMemoryEventStore(), FakeRows()
    stream = _started(store, "o-1")["o-1"]
    projected = project_batch(rows, store, _records(stream[2:]))  # the first events never reached the row
    assert projected.failures == {}
    assert rows.rows["o-1"] == rebuild(stream)
    assert [a.event for a in projected.applied] == [stream[2]], "the rebuild counts as the gap's event, once"


def test_a_saga_whose_row_cannot_be_decoded_fails_exactly_its_own_records_by_sequence_number() -> None:
    store, rows = InMemoryEventStore(), FakeRows(undecodable={"o-bad"})
    streams = _started(store, "o-good", "o-bad")
    good, bad = _records(streams["o-good"], first=111), _records(streams["o-bad"], first=222)
    projected = project_batch(rows, store, [*good, *bad])
    assert sorted(projected.failures) == [r.sequence_number for r in bad]
    assert all(isinstance(error, Undecodable) for error in projected.failures.values())
    assert min(projected.failures) == bad[0].sequence_number, "the stream is retried from the saga's first record"
    assert rows.rows["o-good"] == rebuild(streams["o-good"])
    assert [a.event for a in projected.applied] == streams["o-good"]


def test_a_saga_whose_write_conflicts_fails_its_records_and_leaves_the_newer_row() -> None:
    store = InMemoryEventStore()
    stream = _started(store, "o-1")["o-1"]
    newer = rebuild(stream)
    assert newer is not None
    rows = FakeRows(rows={"o-1": newer}, unseen={"o-1"})
    projected = project_batch(rows, store, _records(stream[:1]))
    assert list(projected.failures) == ["100"]
    assert isinstance(projected.failures["100"], ConcurrencyConflict)
    assert rows.rows["o-1"] == newer
    assert projected.applied == []


def test_when_the_rows_cannot_be_read_every_record_fails_and_nothing_is_written() -> None:
    store, rows = InMemoryEventStore(), FakeRows(unreadable=True)
    streams = _started(store, "o-1", "o-2")
    records = _records([*streams["o-1"], *streams["o-2"]])
    projected = project_batch(rows, store, records)
    assert sorted(projected.failures) == sorted(r.sequence_number for r in records)
    assert all(isinstance(error, Unreadable) for error in projected.failures.values())
    assert (rows.writes, projected.applied) == ([], [])


def test_a_batch_without_events_projects_nothing() -> None:
    rows = FakeRows()
    projected = project_batch(rows, InMemoryEventStore(), [])
    assert (projected.failures, projected.applied, rows.writes) == ({}, [], [])


# --- from the stream records Lambda delivers, to the response it reads -----------------------


def _raw(sequence_number: str, stored: ev.StoredEvent, event_name: str = "INSERT") -> dict[str, Any]:
    """A DynamoDB Streams record as Lambda delivers it (the event-store stream is NEW_IMAGE)."""
    return {
        "eventID": sequence_number,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"NewImage": to_item(stored), "SequenceNumber": sequence_number, "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/events/stream/2024-01-01T00:00:00.000",
    }


def test_only_inserted_records_are_events_each_named_by_its_sequence_number() -> None:
    stream = _started(InMemoryEventStore(), "o-1")["o-1"]
    raw = [_raw("111", stream[0]), _raw("222", stream[1], event_name="MODIFY"), _raw("333", stream[2])]
    assert inserted(raw) == [StreamRecord("111", stream[0]), StreamRecord("333", stream[2])]


def test_the_failed_records_are_reported_as_batch_item_failures_named_by_sequence_number() -> None:
    store, rows = InMemoryEventStore(), FakeRows(undecodable={"o-bad"})
    streams = _started(store, "o-good", "o-bad")
    raw = [_raw(str(111 + n), e) for n, e in enumerate([*streams["o-good"], *streams["o-bad"]])]
    projected = project_batch(rows, store, inserted(raw))
    response = stream_batch_response({"Records": raw}, None, projected.failures)  # type: ignore[arg-type]  # no LambdaContext: none of it is read
    bad = [str(111 + n) for n in range(len(streams["o-good"]), len(raw))]
    assert response == {"batchItemFailures": [{"itemIdentifier": n} for n in bad]}


def _one_saga_batch(rows: FakeRows) -> tuple[list[dict[str, Any]], dict[str, Exception]]:
    store = InMemoryEventStore()
    raw = [_raw(str(111 + n), e) for n, e in enumerate(_started(store, "o-1")["o-1"])]
    return raw, project_batch(rows, store, inserted(raw)).failures


def test_a_batch_without_failures_reports_an_empty_failure_list() -> None:
    raw, failures = _one_saga_batch(FakeRows())
    assert stream_batch_response({"Records": raw}, None, failures) == {"batchItemFailures": []}  # type: ignore[arg-type]  # no LambdaContext: none of it is read


def test_a_batch_whose_every_record_failed_fails_the_invocation() -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    raw, failures = _one_saga_batch(FakeRows(unreadable=True))
    with pytest.raises(BatchProcessingError):  # the stream retries the whole batch
        stream_batch_response({"Records": raw}, None, failures)  # type: ignore[arg-type]  # no LambdaContext: none of it is read
