"""Retention: a long-running local endpoint forgets what finished sagas leave behind.

moto keeps everything it is given for as long as the process lives: every execution with its
history, every log event, every DynamoDB stream record, every archived event, every deleted
message's receipt handles. Behind `saga local up`, which runs for hours, memory would grow without bound. Here a sweeper
forgets, every few seconds, what finished at or before a horizon: past either limit is past
retention, so the horizon is the later of `minutes` ago and the moment the execution finished
that has `sagas` finished executions after it.

What is forgotten (docs/local-cloud.md, "Retention"):
- finished executions (their history with them); a forgotten execution's name stays taken, as
  AWS keeps a closed execution's name for 90 days: StartExecution answers ExecutionAlreadyExists;
- log streams whose last event is older than the horizon, the cloud's copy of their lines, and
  the access decisions and grants recorded on them;
- DynamoDB stream records as soon as every mapping of the stream has read them, whatever their
  age (AWS trims at 24 hours: a reader asking the API for one gets TrimmedDataAccessException);
  a stream no mapping reads, its records older than the horizon;
- archived EventBridge events older than the horizon (a local replay reaches back to it only);
- receipt handles of deleted messages, one sweep after their deletion;
- the finished threads moto's Step Functions engine lists (and never reads).

What is never forgotten: DynamoDB items (the event store, the projection, the business tables),
a running execution, a message not yet deleted, a stream record some mapping has not yet read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends
from moto.events.models import events_backends
from moto.logs.models import logs_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.parser.utils import TMP_THREADS

from localcloud.access.enforcement import AUTHORIZER
from localcloud.cloud import LocalCloud
from localcloud.patches.dynamodb import LOCK as DYNAMODB_LOCK
from localcloud.patches.dynamodbstreams import trim
from localcloud.patches.stepfunctions import forgotten_names

DEFAULT_SAGAS = 1000
DEFAULT_MINUTES = 10.0
SWEEP_SECONDS = 2.0


@dataclass(frozen=True)
class Retention:
    """Keep the last `sagas` finished executions' traces, and everything of the last `minutes`."""

    sagas: int = DEFAULT_SAGAS
    minutes: float = DEFAULT_MINUTES

    def __post_init__(self) -> None:
        if self.sagas < 0 or self.minutes < 0:
            raise ValueError("retention counts sagas and minutes from zero up")


@dataclass
class Forgotten:
    """What one sweep forgot, per store."""

    executions: int = 0
    log_streams: int = 0
    log_lines: int = 0
    stream_records: int = 0
    archived_events: int = 0
    receipt_handles: int = 0
    engine_threads: int = 0

    def add(self, other: Forgotten) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Sweeper:
    cloud: LocalCloud
    retention: Retention
    total: Forgotten = field(default_factory=Forgotten)
    _deleted_last_sweep: dict[str, set[str]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sweeper:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(SWEEP_SECONDS):
            self.total.add(self.sweep())

    def horizon(self, now: float | None = None) -> float:
        """Epoch seconds up to which what finished is forgotten: past either limit is past retention."""
        now = time.time() if now is None else now
        by_age = now - 60 * self.retention.minutes
        stops = sorted((_stopped_at(e) for e in self._executions() if e.status != "RUNNING"), reverse=True)
        if len(stops) <= self.retention.sagas:
            return by_age
        return max(by_age, stops[self.retention.sagas])

    def sweep(self, now: float | None = None) -> Forgotten:
        horizon = self.horizon(now)
        return Forgotten(
            executions=self._forget_executions(horizon),
            log_streams=self._forget_log_streams(horizon),
            log_lines=self.cloud.forget_log_lines(until=horizon),
            stream_records=self._forget_stream_records(horizon),
            archived_events=self._forget_archived_events(horizon),
            receipt_handles=self._forget_receipt_handles(),
            engine_threads=self._forget_engine_threads(),
        )

    # --- the stores -------------------------------------------------------------------------

    def _executions(self) -> list[Any]:
        backend = stepfunctions_parser_backends[self.cloud.account][self.cloud.region]
        return list(backend._get_executions())

    def _forget_executions(self, horizon: float) -> int:
        backend = stepfunctions_parser_backends[self.cloud.account][self.cloud.region]
        forgotten = 0
        for machine in backend.state_machines:
            gone = [e for e in list(machine.executions) if e.status != "RUNNING" and _stopped_at(e) <= horizon]
            if not gone:
                continue
            names = forgotten_names(machine)  # their names stay taken (localcloud/patches/stepfunctions.py)
            names.update(e.name for e in gone)
            for execution in gone:
                # One by one, in place: StartExecution appends to the list concurrently.
                machine.executions.remove(execution)
            forgotten += len(gone)
        return forgotten

    def _forget_log_streams(self, horizon: float) -> int:
        forgotten: set[str] = set()
        for group in list(logs_backends[self.cloud.account][self.cloud.region].groups.values()):
            for name, stream in list(group.streams.items()):
                # A stream with no event yet is being written (created, then put): it stays.
                events = stream.events
                if events and events[-1].timestamp / 1000 <= horizon:  # put in order: the last is the latest
                    group.streams.pop(name, None)
                    forgotten.add(stream.arn)
        AUTHORIZER.forget(forgotten)
        return len(forgotten)

    def _forget_stream_records(self, horizon: float) -> int:
        """A record of a stream that mappings read goes once every one of them has read it, whatever
        its age: no reader but the API's can ask for it any more, and AWS answers those for a trimmed
        record with TrimmedDataAccessException (localcloud/patches/dynamodbstreams.py). A stream no
        mapping reads keeps its records up to the horizon."""
        unread = self.cloud.first_unread_stream_records()
        forgotten = 0
        for table in list(dynamodb_backends[self.cloud.account][self.cloud.region].tables.values()):
            shard = table.stream_shard
            if shard is None:
                continue
            with DYNAMODB_LOCK:  # every stream write holds it; so do the pollers' and the API's reads
                forgotten += trim(shard, self._first_kept(shard, unread, horizon))
        return forgotten

    def _first_kept(self, shard: Any, unread: dict[int, int], horizon: float) -> int:
        """The sequence number of the first record `shard` keeps: the first its mappings have yet to read."""
        return unread[id(shard)] if id(shard) in unread else first_after(shard, horizon)

    def _forget_archived_events(self, horizon: float) -> int:
        forgotten = 0
        for archive in list(events_backends[self.cloud.account][self.cloud.region].archives.values()):
            count = 0
            for event in list(archive.events):
                if float(event.get("ingestion-time", 0)) > horizon:
                    break
                count += 1
            if count:
                del archive.events[:count]
                forgotten += count
        return forgotten

    def _forget_receipt_handles(self) -> int:
        """A deleted message's handles answer a repeated DeleteMessage as a no-op until the next sweep."""
        forgotten = 0
        for queue in list(sqs_backends[self.cloud.account][self.cloud.region].queues.values()):
            previous = self._deleted_last_sweep.get(queue.queue_arn, set())
            before = len(queue.deleted_messages)
            queue.deleted_messages.difference_update(previous)
            forgotten += before - len(queue.deleted_messages)
            self._deleted_last_sweep[queue.queue_arn] = set(queue.deleted_messages)
        return forgotten

    def _forget_engine_threads(self) -> int:
        """moto's Step Functions engine lists every thread it starts (an execution's, each task's, each
        branch's) in a module list it never reads nor empties: the finished ones are let go."""
        finished = [thread for thread in list(TMP_THREADS) if not thread.is_alive()]
        for thread in finished:
            TMP_THREADS.remove(thread)  # in place: the engine's modules hold this very list
        return len(finished)


def first_after(shard: Any, horizon: float) -> int:
    """The sequence number of the shard's first record written after the horizon (or of the next one)."""
    number = int(shard.starting_sequence_number)
    for record in shard.items:
        if unix_time(record.record["dynamodb"]["ApproximateCreationDateTime"]) > horizon:
            break
        number += 1
    return number


def _stopped_at(execution: Any) -> float:
    stop = execution.stop_date or execution.start_date
    return float(stop.timestamp())
