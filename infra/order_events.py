"""The event bus: OrderCreated in through a buffered start queue, domain events out."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import names
from lambdas.logic.publish import DOMAIN_EVENT_SOURCE

START_MAX_RECEIVES = 3
"""A message that failed this many times goes to the dead-letter queue."""


def _queue(scope: Construct, construct_id: str, key: kms.IKey, **kwargs: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _queue_with_dead_letters(
    scope: Construct,
    construct_id: str,
    dead_letter_id: str,
    key: kms.IKey,
    max_receives: int,
    visibility: Duration | None = None,
) -> tuple[sqs.Queue, sqs.Queue]:
    """A queue that keeps messages 4 days, and its dead-letter queue that keeps them 14."""
    dead_letters = _queue(scope, dead_letter_id, key, retention_period=Duration.days(14))
    queue = _queue(
        scope,
        construct_id,
        key,
        visibility_timeout=visibility,
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receives),
    )
    return queue, dead_letters


class OrderEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, key: kms.IKey, start_visibility: Duration) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus")

        self.start_queue, self.dead_letter_queue = _queue_with_dead_letters(
            self, "StartQueue", "DeadLetterQueue", key, START_MAX_RECEIVES, start_visibility
        )
        self.order_created = events.Rule(
            self,
            "OrderCreated",
            event_bus=self.bus,
            description="OrderCreated events start a saga through the start queue",
            event_pattern=events.EventPattern(source=[names.ORDER_SOURCE], detail_type=[names.ORDER_DETAIL_TYPE]),
            targets=[
                targets.SqsQueue(
                    self.start_queue,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

        # Executions that end unfinished (timed out, aborted, failed) are queued for the saga to end.
        self.outcomes_queue, self.outcomes_dead_letter_queue = _queue_with_dead_letters(
            self, "ExecutionOutcomesQueue", "OutcomesDeadLetterQueue", key, 5, start_visibility
        )

        domain_events = events.EventPattern(source=[DOMAIN_EVENT_SOURCE])
        self.archive = events.Archive(
            self,
            "DomainEventsArchive",
            source_event_bus=self.bus,
            event_pattern=domain_events,
            description="Every published domain event, for replay",
            retention=Duration.days(365),
        )
        # A tap integrators (and the local cloud's tests) can read the published events from.
        self.domain_events_queue, self.domain_events_dead_letter_queue = _queue_with_dead_letters(
            self, "DomainEventsQueue", "DomainEventsDeadLetterQueue", key, 5
        )
        events.Rule(
            self,
            "DomainEventsTap",
            event_bus=self.bus,
            description="Copies every published domain event to the domain events queue",
            event_pattern=domain_events,
            targets=[targets.SqsQueue(self.domain_events_queue)],
        )
