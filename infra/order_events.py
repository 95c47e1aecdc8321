"""The event buses: OrderCreated in through a buffered start queue; the saga's domain events out.

Orders and domain events travel on two buses. `source` is free text on PutEvents, so a
principal allowed to send orders could otherwise put events that look like the saga's
own: the domain-events bus refuses every PutEvents but the publisher's (its resource
policy), and the publisher may put there only the saga's own source, not an order that
looks like a pharmacy's; the order bus takes orders from the producers named in CDK context
(`order_producers`), limited to `pharmacy.orders` / `OrderCreated`. Both buses, the
archive and every queue are encrypted with the stack's key.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import nag
from lambdas.contract import (
    CANCELLATION_REQUESTED,
    CANCELLATION_SOURCE,
    DOMAIN_EVENT_SOURCE,
    ORDER_DETAIL_TYPE,
    ORDER_SOURCE,
    PRESCRIPTION_REJECTED,
    PRESCRIPTION_VERIFIED,
    VERIFICATION_SOURCE,
)

START_MAX_RECEIVES = 3
"""A message that failed this many times goes to the dead-letter queue."""

ONLY_DOMAIN_EVENTS: dict[str, dict[str, str]] = {"StringEquals": {"events:source": DOMAIN_EVENT_SOURCE}}
"""The condition on the publisher's PutEvents, in the bus policy and in its own grant: EventBridge
authorises each entry with its `events:source` (EventBridge user guide, "Using IAM policy conditions
in Amazon EventBridge"). Within one account either policy's Allow is enough, so both carry it."""


def encrypted_queue(scope: Construct, construct_id: str, key: kms.IKey, **kwargs: object) -> sqs.Queue:
    """A queue under the stack's key that refuses plain HTTP."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        **kwargs,  # type: ignore[arg-type]  # the caller's sqs.Queue keywords, passed on
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
    dead_letters = encrypted_queue(scope, dead_letter_id, key, retention_period=Duration.days(14))
    queue = encrypted_queue(
        scope,
        construct_id,
        key,
        visibility_timeout=visibility,
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receives),
    )
    return queue, dead_letters


def producer_principal(producer: str) -> iam.IPrincipal:
    """An account id (`111122223333`) or an IAM ARN (a role or user that sends orders)."""
    if producer.isdigit() and len(producer) == 12:
        return iam.AccountPrincipal(producer)
    if producer.startswith("arn:"):
        return iam.ArnPrincipal(producer)
    raise ValueError(f"order producer {producer!r} is neither a 12-digit account id nor an IAM ARN")


class OrderEvents(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        key: kms.IKey,
        start_visibility: Duration,
        producers: Sequence[str] = (),
        verification_producers: Sequence[str] = (),
        domain_events_queue: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        # A bus under a customer-managed key sends the events it cannot encrypt or decrypt (the key
        # disabled, its policy changed) to a dead-letter queue of its own, as AWS strongly recommends
        # for such a bus. Not under the same key: in exactly those cases it could not take them either.
        self.bus_dead_letter_queue = sqs.Queue(
            self,
            "BusDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        nag.acknowledge(self.bus_dead_letter_queue, "AwsSolutions-SQS3", nag.BUS_DEAD_LETTERS)
        self.bus = self._bus("Bus", key, "OrderCreated events from the pharmacy")
        if producers:
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OrderProducers",
                    principals=[producer_principal(p) for p in producers],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                    conditions={
                        "StringEquals": {
                            "events:source": ORDER_SOURCE,
                            # Whoever may send an order may cancel it.
                            "events:detail-type": [ORDER_DETAIL_TYPE, CANCELLATION_REQUESTED],
                        }
                    },
                )
            )
        if verification_producers:
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="VerificationProducers",
                    principals=[producer_principal(p) for p in verification_producers],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                    conditions={
                        "StringEquals": {
                            "events:source": VERIFICATION_SOURCE,
                            "events:detail-type": [PRESCRIPTION_VERIFIED, PRESCRIPTION_REJECTED],
                        }
                    },
                )
            )

        self.start_queue, self.dead_letter_queue = _queue_with_dead_letters(
            self, "StartQueue", "DeadLetterQueue", key, START_MAX_RECEIVES, start_visibility
        )
        self.order_created = events.Rule(
            self,
            "OrderCreated",
            event_bus=self.bus,
            description="OrderCreated events start a saga through the start queue",
            event_pattern=events.EventPattern(source=[ORDER_SOURCE], detail_type=[ORDER_DETAIL_TYPE]),
            targets=[
                targets.SqsQueue(
                    self.start_queue,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

        # A pharmacist's answers and cancellations: queued for the sagas they are about, in the order
        # they came (each is applied to its saga's stream with optimistic concurrency).
        self.requests_queue, self.requests_dead_letter_queue = _queue_with_dead_letters(
            self, "RequestsQueue", "RequestsDeadLetterQueue", key, START_MAX_RECEIVES, start_visibility
        )
        for rule_id, source, detail_types, description in (
            (
                "PharmacistAnswers",
                VERIFICATION_SOURCE,
                [PRESCRIPTION_VERIFIED, PRESCRIPTION_REJECTED],
                "A pharmacist's decision on a prescription, for the saga waiting for it",
            ),
            ("CancellationRequests", CANCELLATION_SOURCE, [CANCELLATION_REQUESTED], "An order's cancellation"),
        ):
            events.Rule(
                self,
                rule_id,
                event_bus=self.bus,
                description=description,
                event_pattern=events.EventPattern(source=[source], detail_type=detail_types),
                targets=[
                    targets.SqsQueue(
                        self.requests_queue,
                        dead_letter_queue=self.requests_dead_letter_queue,
                        retry_attempts=185,
                        max_event_age=Duration.hours(24),
                    )
                ],
            )

        # Executions that end unfinished (timed out, aborted, failed) are queued for the saga to end.
        self.outcomes_queue, self.outcomes_dead_letter_queue = _queue_with_dead_letters(
            self, "ExecutionOutcomesQueue", "OutcomesDeadLetterQueue", key, 5, start_visibility
        )

        self.domain_bus = self._bus("DomainBus", key, "The saga's domain events, put by its publisher only")
        domain_events = events.EventPattern(source=[DOMAIN_EVENT_SOURCE])
        self.archive = events.Archive(
            self,
            "DomainBusArchive",
            source_event_bus=self.domain_bus,
            event_pattern=domain_events,
            description="Every published domain event, for replay",
            retention=Duration.days(365),
        )
        self._encrypt_archive(key)
        self._keep_the_archive_of_the_shared_bus(domain_events)
        # EventBridge sends a bus's undeliverable events to its dead-letter queue as events.amazonaws.com.
        self.bus_dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TheBusesSendWhatTheyCannotDeliver",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.bus_dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [self.bus.event_bus_arn, self.domain_bus.event_bus_arn]}},
            )
        )
        # A queue to read the published events from, only where someone reads it (the local tools):
        # every event it takes is an SQS request, the most a completed order's SQS line held.
        self.domain_events_queue: sqs.Queue | None = None
        self.domain_events_dead_letter_queue: sqs.Queue | None = None
        if domain_events_queue:
            self._tap(key, domain_events)

    def _tap(self, key: kms.IKey, domain_events: events.EventPattern) -> None:
        queue, dead_letters = _queue_with_dead_letters(self, "DomainEventsQueue", "DomainEventsDeadLetterQueue", key, 5)
        events.Rule(
            self,
            "DomainEventsTap",
            event_bus=self.domain_bus,
            description="Copies every published domain event to the domain events queue",
            event_pattern=domain_events,
            targets=[targets.SqsQueue(queue, dead_letter_queue=dead_letters)],
        )
        self.domain_events_queue, self.domain_events_dead_letter_queue = queue, dead_letters

    def _bus(self, construct_id: str, key: kms.IKey, description: str) -> events.EventBus:
        """A bus under the stack's key, sending what it cannot encrypt or decrypt to the buses' dead-letter queue."""
        return events.EventBus(
            self, construct_id, kms_key=key, dead_letter_queue=self.bus_dead_letter_queue, description=description
        )

    def _encrypt_archive(self, key: kms.IKey) -> None:
        """The archive under the stack's key, with the key policy EventBridge needs for it (EventBridge
        user guide, "Encrypting archives"). Without a key, aws-cdk-lib writes `KmsKeyIdentifier: ""`
        (aws/aws-cdk#37847); its `kms_key` names the bus by GetAtt in the key policy, a cycle between
        the key and the bus: the bus ARN is built from its name instead."""
        archive = self.archive.node.default_child
        assert isinstance(archive, events.CfnArchive)
        archive.kms_key_identifier = key.key_arn
        bus = self.domain_bus.node.default_child
        assert isinstance(bus, events.CfnEventBus)
        stack = Stack.of(self)
        bus_arn = stack.format_arn(service="events", resource="event-bus", resource_name=bus.name)
        events_service = iam.ServicePrincipal("events.amazonaws.com")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeArchivesDomainEvents",
                principals=[events_service],
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "kms:EncryptionContext:aws:events:event-bus:arn": bus_arn,
                    }
                },
            )
        )
        # DescribeKey carries no encryption context: a condition on one would never hold.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeDescribesTheArchiveKey",
                principals=[events_service],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

    def _keep_the_archive_of_the_shared_bus(self, domain_events: events.EventPattern) -> None:
        """Domain events were archived on the order bus until they had a bus of their own. Moving an
        archive to another bus replaces it (and deletes what it holds), so the old one stays, under
        its old logical id, on the order bus: it receives nothing new and keeps what it holds until
        its retention runs out. (Its replay goes to the order bus, where no rule takes domain events:
        a replay needs a rule of the operator's own there.)"""
        legacy = events.Archive(
            self,
            "DomainEventsArchive",
            source_event_bus=self.bus,
            event_pattern=domain_events,
            description="Domain events published before they had a bus of their own; receives nothing new",
            retention=Duration.days(365),
        )
        archive = legacy.node.default_child
        assert isinstance(archive, events.CfnArchive)
        # aws-cdk-lib writes KmsKeyIdentifier "" (aws/aws-cdk#37847): no key means AWS's own, as before.
        archive.add_property_deletion_override("KmsKeyIdentifier")

    def only_published_by(self, publisher: iam.IRole) -> None:
        """The domain-events bus refuses PutEvents from every principal but `publisher`, however
        broad its identity policy, and allows `publisher` the saga's source only (its own grant
        must say so too: `ONLY_DOMAIN_EVENTS`); AWS services (an archive's replay) are not IAM
        principals."""
        self.domain_bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThePublisherPutsDomainEvents",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["events:PutEvents"],
                resources=[self.domain_bus.event_bus_arn],
                conditions={
                    "ArnNotEquals": {"aws:PrincipalArn": publisher.role_arn},
                    "Bool": {"aws:PrincipalIsAWSService": "false"},
                },
            )
        )
        self.domain_bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ThePublisherPutsDomainEvents",
                principals=[iam.ArnPrincipal(publisher.role_arn)],
                actions=["events:PutEvents"],
                resources=[self.domain_bus.event_bus_arn],
                conditions=ONLY_DOMAIN_EVENTS,
            )
        )
