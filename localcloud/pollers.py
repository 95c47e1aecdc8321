"""Event source mappings, delivered the way the Lambda service does it.

moto invokes a mapped function synchronously inside the write (SendMessage, PutItem) and
ignores partial-batch responses. Here each mapping gets a poller thread instead:
- SQS: receive a batch, invoke, delete what succeeded; failed messages become visible
  again after the queue's visibility timeout (time-scaled) and, past the redrive policy's
  maxReceiveCount, moto moves them to the dead-letter queue.
- DynamoDB streams: read the shard in order from a cursor, four times a second as Lambda
  does (what was written between two polls arrives in one batch; a full batch is followed
  at once by the next), invoke, advance; on a partial failure resume from the first failed
  record; give up on a batch after the mapping's MaximumRetryAttempts, recording it as
  undelivered (tests assert there are none).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaFunction
from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends
from moto.sqs.models import sqs_backends

from localcloud import aws_metrics
from localcloud.access.actions import Check
from localcloud.access.enforcement import AUTHORIZER
from localcloud.access.principals import Principal
from localcloud.patches.dynamodb import LOCK as DYNAMODB_LOCK

Invoke = Callable[[LambdaFunction, dict[str, Any]], tuple[str, bool]]

_IDLE_SLEEP = 0.004
_IDLE_SLEEP_MAX = 0.032
"""An idle poller waits twice as long after each empty poll, up to this, and polls at once after work:
idle sources cost next to no CPU, and work found is taken at once."""


@dataclass
class Undelivered:
    function: str
    source: str
    records: int
    reason: str
    destination: str | None = None
    """Where the record of the failed batch went (the mapping's on-failure destination), if anywhere."""


@dataclass
class Poller:
    esm: EventSourceMapping
    function: LambdaFunction
    invoke: Invoke
    stop: threading.Event
    scale: Callable[[], float]
    busy: bool = False
    undelivered: list[Undelivered] = field(default_factory=list)

    def allowed(self, action: str, resource: str) -> bool:
        """Whether the function's role may make this call; a refusal is recorded (once per kind)."""
        principal = Principal.function_role(str(self.function.role), str(self.function.function_name))
        refusal = AUTHORIZER.check(principal, Check(action, resource))
        if refusal is None:
            return True
        if not any(u.reason == refusal.message for u in self.undelivered):
            self.undelivered.append(
                Undelivered(self.function.function_name, self.esm.event_source_arn, 0, refusal.message)
            )
        return False

    def run(self) -> None:
        idle = _IDLE_SLEEP
        account, region = self.esm.event_source_arn.split(":")[4], self.esm.event_source_arn.split(":")[3]
        while not self.stop.is_set():
            # SQS reports every queue's depth and oldest age each minute: the pollers' loops are the clock.
            aws_metrics.sample_queues(account, region)
            try:
                worked = self.poll_once()
            except Exception as error:  # a poller must not die: record and go on
                self.undelivered.append(
                    Undelivered(self.function.function_name, self.esm.event_source_arn, 0, repr(error))
                )
                worked = False
            if worked:
                idle = _IDLE_SLEEP
            else:
                time.sleep(idle)
                idle = min(_IDLE_SLEEP_MAX, idle * 2)

    def poll_once(self) -> bool:
        raise NotImplementedError

    def pending(self) -> int:
        raise NotImplementedError


def _failed_ids(response: str) -> list[str] | None:
    """The itemIdentifiers of a partial-batch response, or None if the response is not one."""
    try:
        body = json.loads(response)
    except (TypeError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict) or "batchItemFailures" not in body:
        return None
    return [str(f["itemIdentifier"]) for f in body["batchItemFailures"]]


@dataclass
class SqsPoller(Poller):
    requests: int = 0
    """SQS requests the event source mapping made with messages in hand (the bench counts them)."""
    receiving: threading.Lock = field(default_factory=threading.Lock)
    """Shared by the pollers of one mapping: moto's ReceiveMessage is not atomic across threads."""

    def _queue(self) -> Any:
        _, _, _, region, account, name = self.esm.event_source_arn.split(":")
        return sqs_backends[account][region], name

    def pending(self) -> int:
        backend, name = self._queue()
        queue = backend.get_queue(name)
        return int(queue.approximate_number_of_messages) + int(queue.approximate_number_of_messages_not_visible)

    def poll_once(self) -> bool:
        backend, name = self._queue()
        queue = backend.get_queue(name)
        if not self.allowed("sqs:ReceiveMessage", queue.queue_arn):
            return False
        visibility = int(queue.visibility_timeout)
        with self.receiving:
            messages = backend.receive_message(name, int(self.esm.batch_size or 10), 0, visibility)
        if not messages:
            return False
        self.busy = True
        self.requests += 1  # ReceiveMessage (empty receives are a fixed cost of polling, not counted)
        try:
            event = {"Records": [self._record(m, queue.queue_arn) for m in messages]}
            response, errored = self.invoke(self.function, event)
            failed = {m.id for m in messages} if errored else set(_failed_ids(response) or [])
            retry_after = round(visibility * self.scale())
            # As Lambda does: one DeleteMessageBatch for the successes, one ChangeMessageVisibilityBatch
            # for the failures.
            self.requests += (len(failed) < len(messages)) + bool(failed)
            may_delete = len(failed) == len(messages) or self.allowed("sqs:DeleteMessage", queue.queue_arn)
            for message in messages:
                if message.id in failed:
                    # Not an AWS call: Lambda lets the visibility timeout run out; here it is time-scaled.
                    backend.change_message_visibility(name, message.receipt_handle, retry_after)
                elif may_delete:
                    backend.delete_message(name, message.receipt_handle)
        finally:
            self.busy = False
        return True

    def _record(self, message: Any, queue_arn: str) -> dict[str, Any]:
        return {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.approximate_receive_count),
                "SentTimestamp": str(message.sent_timestamp),
                "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
            },
            "messageAttributes": {},
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": self.esm.region,
        }


STREAM_POLL_INTERVAL = 0.25
"""Lambda polls each shard of a DynamoDB stream at a base rate of four times per second (Lambda
developer guide, "Polling and batching streams"). A delivery latency, not a backoff: not time-scaled."""


class DynamoDBStreamPoller(Poller):
    position: int = 0
    """The sequence number of the next record to read: the shard's records before it may be
    forgotten (localcloud/retention.py), which moves the shard's start, never this."""
    attempts: int = 0
    next_poll: float = 0.0

    def _shard(self) -> Any:
        # arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
        parts = self.esm.event_source_arn.split(":")
        region, account, table_name = parts[3], parts[4], parts[5].split("/")[1]
        return dynamodb_backends[account][region].get_table(table_name).stream_shard

    def pending(self) -> int:
        shard = self._shard()
        return int(shard.starting_sequence_number) + len(shard.items) - self.position

    def poll_once(self) -> bool:
        if self.stop.wait(max(0.0, self.next_poll - time.monotonic())):
            return False
        polled_at = time.monotonic()
        if not self.allowed("dynamodb:GetRecords", self.esm.event_source_arn):
            self.next_poll = polled_at + STREAM_POLL_INTERVAL
            return False
        shard = self._shard()
        size = int(self.esm.batch_size or 100)
        with DYNAMODB_LOCK:  # the shard's start and records, read together
            start = self.position - int(shard.starting_sequence_number)
            batch = shard.items[start : start + size]
        # A backlog is read on at once; otherwise the next poll waits for the shard's next turn.
        self.next_poll = polled_at + (0.0 if len(batch) == size else STREAM_POLL_INTERVAL)
        if not batch:
            return False
        self.busy = True
        try:
            records = [self._record(item) for item in batch]
            aws_metrics.iterator_age(
                self.esm.event_source_arn,  # the stream's ARN: the function's account and region
                self.function.function_name,
                float(records[-1]["dynamodb"]["ApproximateCreationDateTime"]),
                time.time(),
            )
            response, errored = self.invoke(self.function, {"Records": records})
            failed = None if errored else _failed_ids(response)
            if not errored and not failed:
                self.position += len(batch)
                self.attempts = 0
                return True
            self.attempts += 1
            if failed:  # resume from the first failed record, as Lambda does
                sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
                first = min(sequence_numbers.index(s) for s in failed if s in sequence_numbers)
                self.position += first
            limit = self.esm.max_retry_attempts if self.esm.max_retry_attempts is not None else 10
            if self.attempts > max(0, int(limit)):
                given_up = [records[first]] if failed else records
                self.undelivered.append(
                    Undelivered(
                        self.function.function_name,
                        self.esm.event_source_arn,
                        len(batch),
                        response[:500],
                        self._send_to_on_failure_destination(given_up),
                    )
                )
                self.position += 1 if failed else len(batch)
                self.attempts = 0
            else:
                time.sleep(min(1.0, 0.05 * 2**self.attempts) * self.scale())
            self.next_poll = 0.0  # the retry's own backoff (above) is its wait
        finally:
            self.busy = False
        return True

    def _send_to_on_failure_destination(self, records: list[dict[str, Any]]) -> str | None:
        """Lambda's record of a batch it gave up on, sent to the mapping's OnFailure queue as the
        function's role (Lambda developer guide, "Retaining discarded batches"); None if none is set."""
        destination = ((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not destination or ":sqs:" not in destination or not records:
            return None
        if not self.allowed("sqs:SendMessage", destination):
            return None
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        document = {
            "requestContext": {
                "functionArn": self.function.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001",
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                "batchSize": len(records),
                "streamArn": self.esm.event_source_arn,
            },
        }
        _, _, _, region, account, name = destination.split(":")
        sqs_backends[account][region].send_message(name, json.dumps(document))
        return str(destination)

    def _record(self, item: Any) -> dict[str, Any]:
        record = item.to_json()
        dynamodb = dict(record["dynamodb"])
        if not isinstance(dynamodb.get("ApproximateCreationDateTime"), (int, float, str)):
            dynamodb["ApproximateCreationDateTime"] = unix_time(dynamodb["ApproximateCreationDateTime"])
        dynamodb["SequenceNumber"] = str(dynamodb["SequenceNumber"])
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record["eventVersion"],
            "eventSource": record["eventSource"],
            "awsRegion": self.esm.region,
            "dynamodb": dynamodb,
            "eventSourceARN": self.esm.event_source_arn,
        }
