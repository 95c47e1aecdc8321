"""Boto3 clients (created lazily, once per process) and the small EventBridge adapter.

Step Functions has its own adapter: lambdas/adapters/step_functions.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Literal, Protocol, cast, overload

from lambdas.domain.errors import TransientError

if TYPE_CHECKING:
    # The typed stubs are a development dependency only: mypy checks every call's parameters,
    # and nothing here is imported at run time (nor shipped in the Lambda asset).
    from botocore.client import BaseClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient


class _Clients(Protocol):
    """`client`'s type: the client of the service named, for each service the functions call."""

    @overload
    def __call__(self, service: Literal["dynamodb"]) -> DynamoDBClient: ...
    @overload
    def __call__(self, service: Literal["events"]) -> EventBridgeClient: ...
    @overload
    def __call__(self, service: Literal["secretsmanager"]) -> SecretsManagerClient: ...
    @overload
    def __call__(self, service: Literal["ssm"]) -> SSMClient: ...
    @overload
    def __call__(self, service: Literal["stepfunctions"]) -> SFNClient: ...

    def cache_clear(self) -> None: ...


def _new_client(service: str) -> BaseClient:
    """The process's one client for `service`.

    boto3 is imported here, on first use, rather than at module import: importing a handler
    stays within its cold-start budget (see `make bench`), and a function that never calls a
    service never pays for it.
    """
    import boto3
    from botocore.config import Config

    # Retries of throttling are botocore's job ("standard" mode); ours are the state machine's.
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
    # call-overload: boto3's stubs type `client` per literal service name only; `_Clients` below
    # gives each caller the client of the name it passes.
    made: BaseClient = boto3.client(service, config=config)  # type: ignore[call-overload]
    return made


client = cast("_Clients", cache(_new_client))
"""The process's one client for a service, typed by its name (`client("dynamodb")` is a DynamoDBClient)."""


class EventBridgePublisher:
    def __init__(self, events_client: EventBridgeClient) -> None:
        self._client = events_client

    def put_many(self, entries: Sequence[PutEventsRequestEntryTypeDef]) -> list[TransientError | None]:
        """Put the entries, up to 10 per PutEvents request: per entry, None or why it was refused."""
        failures: list[TransientError | None] = []
        for chunk in _put_events_chunks(entries):
            response = self._client.put_events(Entries=chunk)
            for answer in response["Entries"]:
                code = answer.get("ErrorCode")
                failures.append(TransientError(f"PutEvents refused the entry: {code}") if code else None)
        return failures


PUT_EVENTS_MAX_ENTRIES = 10
PUT_EVENTS_MAX_BYTES = 1024 * 1024
"""A PutEvents request's entries together, as EventBridge counts them: 1 MiB since January 2026 (AWS compute
blog, "More room to build: serverless services now support payloads up to 1 MB"; 256 KB before)."""


def _entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """An entry's size as EventBridge counts it: 14 bytes of time, then its text fields."""
    fields = ("Source", "DetailType", "Detail")
    return (
        14
        + sum(len(str(entry.get(f, "")).encode()) for f in fields)
        + sum(len(r.encode()) for r in entry.get("Resources", []))
    )


def _put_events_chunks(
    entries: Sequence[PutEventsRequestEntryTypeDef],
) -> list[list[PutEventsRequestEntryTypeDef]]:
    chunks: list[list[PutEventsRequestEntryTypeDef]] = []
    size = 0
    for entry in entries:
        entry_size = _entry_size(entry)
        if not chunks or len(chunks[-1]) == PUT_EVENTS_MAX_ENTRIES or size + entry_size > PUT_EVENTS_MAX_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks
