"""The DynamoDB stream poller reads its shard at Lambda's rate: four times a second, a backlog at once."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from localcloud import pollers
from localcloud.access import enforcement
from localcloud.pollers import DynamoDBStreamPoller

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/events/stream/label"


@pytest.fixture(autouse=True)
def _the_mapping_may_read_its_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorisation is tests/localcloud/test_access.py's subject; here every read is allowed."""
    monkeypatch.setattr(enforcement.AUTHORIZER, "check", lambda principal, check: None)


class _Item:
    def __init__(self, number: int) -> None:
        self.number = number

    def to_json(self) -> dict[str, Any]:
        return {
            "eventID": str(self.number),
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": self.number, "ApproximateCreationDateTime": 0},
        }


class _Stream:
    """A shard to append to, and the batches the mapped function was invoked with."""

    def __init__(self, batch_size: int = 100) -> None:
        self.shard = SimpleNamespace(items=[], starting_sequence_number=0)
        self.batches: list[list[str]] = []
        self.fail_next = False
        esm = SimpleNamespace(batch_size=batch_size, max_retry_attempts=10, region="us-east-1", event_source_arn=ARN)
        function = SimpleNamespace(function_name="f", role="arn:aws:iam::123456789012:role/f")
        self.poller = DynamoDBStreamPoller(esm, function, self._invoke, threading.Event(), lambda: 0.0)  # type: ignore[arg-type]  # stand-ins for moto's models
        self.poller._shard = lambda: self.shard  # type: ignore[method-assign]  # the shard, given

    def write(self, count: int) -> None:
        start = self.shard.starting_sequence_number + len(self.shard.items)
        self.shard.items.extend(_Item(start + n) for n in range(count))

    def _invoke(self, function: Any, event: dict[str, Any]) -> tuple[str, bool]:
        self.batches.append([r["eventID"] for r in event["Records"]])
        if self.fail_next:
            self.fail_next = False
            first = event["Records"][0]["dynamodb"]["SequenceNumber"]
            return json.dumps({"batchItemFailures": [{"itemIdentifier": first}]}), False
        return "null", False


def test_what_is_written_between_two_polls_arrives_in_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pollers, "STREAM_POLL_INTERVAL", 0.2)
    stream = _Stream()
    stream.write(1)
    assert stream.poller.poll_once()
    first_poll = time.monotonic()
    stream.write(1)
    stream.write(1)
    stream.write(1)

    assert stream.poller.poll_once()

    assert time.monotonic() - first_poll >= 0.19, "the second poll waited for the shard's next turn"
    assert stream.batches == [["0"], ["1", "2", "3"]]


def test_a_backlog_is_read_on_without_waiting_for_the_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pollers, "STREAM_POLL_INTERVAL", 60.0)
    stream = _Stream(batch_size=10)
    stream.write(25)

    started = time.monotonic()
    for _ in range(3):
        assert stream.poller.poll_once()

    assert time.monotonic() - started < 30, "two full batches, each followed at once by the next poll"
    assert [len(b) for b in stream.batches] == [10, 10, 5]
    # the third batch was not full: the next poll waits its turn (a stopping poller stops waiting)
    assert stream.poller.next_poll - time.monotonic() > 50
    stream.poller.stop.set()
    stream.write(1)
    assert not stream.poller.poll_once(), "a stopped poller does not poll"
    assert len(stream.batches) == 3


def test_an_empty_poll_also_waits_its_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pollers, "STREAM_POLL_INTERVAL", 60.0)
    stream = _Stream()
    assert not stream.poller.poll_once()
    assert stream.poller.next_poll - time.monotonic() > 50


def test_a_failed_batch_is_retried_after_its_backoff_not_the_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pollers, "STREAM_POLL_INTERVAL", 60.0)
    stream = _Stream()
    stream.write(3)
    stream.fail_next = True

    assert stream.poller.poll_once()
    assert stream.poller.poll_once()

    assert stream.batches == [["0", "1", "2"], ["0", "1", "2"]], "resumed from the failed record at once"


def test_records_forgotten_behind_the_poller_move_the_shards_start_and_it_reads_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pollers, "STREAM_POLL_INTERVAL", 0.0)
    stream = _Stream()
    stream.write(3)
    assert stream.poller.poll_once()
    # Retention forgets what the mapping has read: the shard starts later, as moto numbers its records
    del stream.shard.items[:3]
    stream.shard.starting_sequence_number += 3
    stream.write(2)

    assert stream.poller.poll_once()
    assert stream.batches == [["0", "1", "2"], ["3", "4"]]
    assert stream.poller.pending() == 0
