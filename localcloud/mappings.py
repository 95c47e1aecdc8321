"""The event source mappings of an account/region, taken over from moto's inline delivery by pollers.

Lambda checks, when a mapping is created, that the function's role can read its source; here that
check runs when the pollers take over (localcloud/pollers.py delivers each mapping's records).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from moto.awslambda.models import EventSourceMapping, LambdaFunction, lambda_backends

from localcloud.access.actions import Check
from localcloud.access.enforcement import AUTHORIZER
from localcloud.access.principals import Principal
from localcloud.deploy import DeploymentFailed
from localcloud.pollers import DynamoDBStreamPoller, Invoke, Poller, SqsPoller, Undelivered

SQS_POLLERS = 5
"""Concurrent pollers per SQS event source mapping: Lambda starts with five and scales up from there."""

SQS_MAPPING_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
STREAM_MAPPING_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords")
"""What Lambda calls with the function's role to read an SQS queue or a DynamoDB stream (and ListStreams on *)."""


class MappingRefused(DeploymentFailed):
    """The function's role may not read the mapping's source: CreateEventSourceMapping fails on AWS."""


def _check_mapping_role(esm: EventSourceMapping, function: LambdaFunction) -> None:
    """Lambda checks, when a mapping is created, that the function's role can read the source."""
    principal = Principal.function_role(str(function.role), str(function.function_name))
    source = esm.event_source_arn
    needed = (
        [Check(a, source) for a in SQS_MAPPING_ACTIONS]
        if ":sqs:" in source
        else [*(Check(a, source) for a in STREAM_MAPPING_ACTIONS), Check("dynamodb:ListStreams", "*")]
    )
    for check in needed:
        refusal = AUTHORIZER.check(principal, check)
        if refusal is not None:
            service = "SQS" if ":sqs:" in source else "DynamoDB"
            raise MappingRefused(
                f"{function.function_name}: the provided execution role does not have permissions to call "
                f"{check.action.split(':')[1]} on {service} ({refusal.message})"
            )


class Pollers:
    """Takes over every event source mapping of an account/region from moto's inline delivery."""

    def __init__(self, invoke: Invoke, scale: Callable[[], float]) -> None:
        self._invoke = invoke
        self._scale = scale
        self._stop = threading.Event()
        self._pollers: list[Poller] = []
        self._threads: list[threading.Thread] = []

    def take_over(self, account: str, region: str) -> int:
        backend = lambda_backends[account][region]
        for esm in list(backend._event_source_mappings.values()):
            function = backend.get_function(esm.function_arn)
            _check_mapping_role(esm, function)
            poller: Poller
            pollers: list[SqsPoller] | list[DynamoDBStreamPoller]
            if ":sqs:" in esm.event_source_arn:
                receiving = threading.Lock()
                pollers = [
                    SqsPoller(esm, function, self._invoke, self._stop, self._scale, receiving=receiving)
                    for _ in range(SQS_POLLERS)
                ]
                sqs_backend, name = pollers[0]._queue()
                sqs_backend.get_queue(name).lambda_event_source_mappings.pop(esm.function_arn, None)
            elif ":dynamodb:" in esm.event_source_arn:
                # One poller per shard, in order, as Lambda reads a stream.
                stream_poller = DynamoDBStreamPoller(esm, function, self._invoke, self._stop, self._scale)
                stream_poller.position = int(stream_poller._shard().starting_sequence_number)
                pollers = [stream_poller]
                table = stream_poller._shard().table
                table.lambda_event_source_mappings.pop(esm.function_arn, None)
            else:
                raise RuntimeError(f"no local poller for event source {esm.event_source_arn}")
            for number, poller in enumerate(pollers):
                thread = threading.Thread(
                    target=poller.run, name=f"poller-{function.function_name}-{number}", daemon=True
                )
                self._pollers.append(poller)
                self._threads.append(thread)
                thread.start()
        return len(self._pollers)

    def idle(self) -> bool:
        return all(not p.busy and p.pending() == 0 for p in self._pollers)

    def undelivered(self) -> list[Undelivered]:
        return [u for p in self._pollers for u in p.undelivered]

    def first_unread_stream_records(self) -> dict[int, int]:
        """Per stream shard (by id), the lowest sequence number one of its mappings has yet to read."""
        unread: dict[int, int] = {}
        for poller in self._pollers:
            if isinstance(poller, DynamoDBStreamPoller):
                shard = id(poller._shard())
                unread[shard] = min(unread.get(shard, poller.position), poller.position)
        return unread

    def sqs_requests(self) -> int:
        """SQS requests made so far by the SQS event source mappings, with messages in hand."""
        return sum(p.requests for p in self._pollers if isinstance(p, SqsPoller))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
