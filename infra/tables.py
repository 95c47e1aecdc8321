"""DynamoDB tables: the event store, the saga projection, and the business tables.

All `Table` (moto's CloudFormation cannot create `TableV2`'s global tables), on-demand,
encrypted with the data key, with point-in-time recovery.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import nag
from lambdas.contract import STATE_INDEX, TASK_TOKEN_EXPIRES


def _table(
    scope: Construct,
    construct_id: str,
    key: kms.IKey,
    partition: str,
    sort: ddb.Attribute | None = None,
    stream: ddb.StreamViewType | None = None,
    expires: str | None = None,
) -> ddb.Table:
    table = ddb.Table(
        scope,
        construct_id,
        partition_key=ddb.Attribute(name=partition, type=ddb.AttributeType.STRING),
        sort_key=sort,
        billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
        encryption=ddb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
        stream=stream,
        time_to_live_attribute=expires,
        removal_policy=RemovalPolicy.RETAIN,
    )
    nag.acknowledge(table, "HIPAA.Security-DynamoDBInBackupPlan", nag.BACKUP_BY_PITR)
    return table


class EventStore(Construct):
    """The append-only event store (stream on, for the projector and the publisher) and the read model."""

    def __init__(self, scope: Construct, construct_id: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.events = _table(
            self,
            "Events",
            key,
            partition="pk",
            sort=ddb.Attribute(name="sk", type=ddb.AttributeType.NUMBER),
            stream=ddb.StreamViewType.NEW_IMAGE,
        )
        self.sagas = _table(self, "Sagas", key, partition="order_id")
        self.sagas.add_global_secondary_index(
            index_name=STATE_INDEX,
            partition_key=ddb.Attribute(name="state", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="updated_at", type=ddb.AttributeType.STRING),
            projection_type=ddb.ProjectionType.ALL,
        )


class BusinessTables(Construct):
    """What the steps act on: catalogue, stock, and one record per prescription, reservation, shipment."""

    def __init__(self, scope: Construct, construct_id: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.catalogue = _table(self, "Catalogue", key, partition="medication_id")
        self.inventory = _table(self, "Inventory", key, partition="medication_id")
        self.prescriptions = _table(self, "Prescriptions", key, partition="prescription_id")
        self.reservations = _table(self, "Reservations", key, partition="reservation_id")
        self.shipments = _table(self, "Shipments", key, partition="shipment_id")


def verification_tokens(scope: Construct, construct_id: str, key: kms.IKey) -> ddb.Table:
    """The task token of each saga waiting for a pharmacist, by order id; expired ones deleted by TTL."""
    return _table(scope, construct_id, key, partition="order_id", expires=TASK_TOKEN_EXPIRES)
