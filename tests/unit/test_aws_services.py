"""The EventBridge adapter's batching: at most ten entries and 1 MiB per PutEvents request.

AWS raised PutEvents' limit from 256 KB to 1 MiB a request in January 2026 (AWS compute blog, "More room to
build: serverless services now support payloads up to 1 MB"; docs/local-cloud.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from lambdas.adapters.aws_services import EventBridgePublisher
from lambdas.domain.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef


class RecordingEvents:
    """A PutEvents client that refuses the entries whose Detail is "refuse"."""

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(Entries)
        answers = [{"ErrorCode": "InternalFailure"} if e["Detail"] == "refuse" else {"EventId": "x"} for e in Entries]
        return {"FailedEntryCount": sum("ErrorCode" in a for a in answers), "Entries": answers}


def _entry(detail: str) -> PutEventsRequestEntryTypeDef:
    return {"Source": "s", "DetailType": "t", "Detail": detail, "EventBusName": "b"}


def test_entries_go_ten_per_request_in_order_and_each_refusal_is_its_own() -> None:
    events = RecordingEvents()
    entries = [_entry("refuse" if n in (3, 11) else f"{n}") for n in range(23)]
    refusals = EventBridgePublisher(cast("EventBridgeClient", events)).put_many(entries)
    assert [len(r) for r in events.requests] == [10, 10, 3]
    assert [e for request in events.requests for e in request] == entries
    assert [n for n, refusal in enumerate(refusals) if refusal is not None] == [3, 11]
    assert all(isinstance(r, TransientError) for r in refusals if r is not None)


AWS_LIMIT = 1024 * 1024
"""PutEvents' entries together, counted as EventBridge counts them (see the module's docstring)."""


def test_a_request_never_exceeds_the_size_limit() -> None:
    events = RecordingEvents()
    big = "x" * (AWS_LIMIT // 3)
    EventBridgePublisher(cast("EventBridgeClient", events)).put_many([_entry(big) for _ in range(5)])
    assert [len(r) for r in events.requests] == [2, 2, 1]


def test_entries_under_the_limit_together_go_in_one_request() -> None:
    # four entries of 300 KB: three fit in 1 MiB (each alone was over the 256 KB of before)
    events = RecordingEvents()
    EventBridgePublisher(cast("EventBridgeClient", events)).put_many([_entry("x" * 300_000) for _ in range(4)])
    assert [len(r) for r in events.requests] == [3, 1]


def test_nothing_to_put_makes_no_request() -> None:
    events = RecordingEvents()
    assert EventBridgePublisher(cast("EventBridgeClient", events)).put_many([]) == []
    assert events.requests == []
