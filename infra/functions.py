"""The Lambda functions: one per handler, each with its own role and only the permissions it uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import nag, names
from infra.bundling import lambda_code
from infra.order_events import ONLY_DOMAIN_EVENTS, OrderEvents, encrypted_queue
from infra.pharmacy import PharmacyApi
from infra.security import XRAY_WRITE, ManagedRole
from infra.tables import BusinessTables, EventStore
from lambdas import contract
from lambdas.domain.states import Compensation, Step

FUNCTION_TIMEOUT = Duration.seconds(30)
"""Lambda's own timeout for a task's function; the state machine's TASK_TIMEOUT (infra/saga_workflow.py)
is how long a task state waits for the invocation, and is the longer of the two."""
START_TIMEOUT = Duration.seconds(30)

EVENT_READ = ["dynamodb:Query"]
"""A saga is loaded with one Query of its stream; nothing reads the event store item by item."""
EVENT_APPEND = ["dynamodb:PutItem"]
"""A transactional append (TransactWriteItems) is authorised by PutItem on each item."""
UNDO_RECORD = ["dynamodb:UpdateItem", "dynamodb:PutItem"]
"""An undo moves the record to its undone status, or puts a tombstone where there is none yet."""
KEY_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
SQS_CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
"""What Lambda's SQS event source mapping calls with the function's role (AWSLambdaSQSQueueExecutionRole's
actions): a failed message is not changed, it becomes visible again when its visibility timeout ends."""
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
"""What Lambda's DynamoDB stream event source mapping calls with the function's role on the stream."""
LIST_STREAMS = "dynamodb:ListStreams"
"""The mapping also lists streams; ListStreams has no resource-level permissions, so only `*` grants it."""


class Functions(Construct):
    """Every function of the saga, keyed by handler name (see `infra.names.ALL_FUNCTIONS`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        store: EventStore,
        business: BusinessTables,
        order_events: OrderEvents,
        fault_parameter: ssm.IStringParameter | None,
        pharmacy: PharmacyApi | None = None,
        task_tokens: ddb.Table | None = None,
    ) -> None:
        """`task_tokens`: the verification tokens table of a stack that waits for pharmacists."""
        super().__init__(scope, construct_id)
        self._key = key
        self._code = lambda_code()
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, ManagedRole] = {}
        self.stream_failures: dict[str, sqs.Queue] = {}
        """The on-failure queue of each stream consumer's mapping."""

        for name in names.ALL_FUNCTIONS:
            self._function(name)
        if task_tokens is not None:
            self._function(names.REQUEST_VERIFICATION)

        event_store = store.events
        saga_writers = (
            *names.STEP_FUNCTIONS,
            *names.COMPENSATION_FUNCTIONS,
            names.RECORD_COMPENSATION_FAILURE,
            names.RESUME_SAGA,
            names.RECORD_EXECUTION_OUTCOME,
            names.ORDER_REQUESTS,
            *([names.REQUEST_VERIFICATION] if task_tokens is not None else []),
        )
        for name in saga_writers:
            self._uses_event_store(name, event_store, append=True)
            if fault_parameter is not None and name in (*names.STEP_FUNCTIONS, *names.COMPENSATION_FUNCTIONS):
                self._environment(name, contract.FAULT_INJECTION_PARAMETER, fault_parameter.parameter_name)
                self._permit(name, ["ssm:GetParameter"], [fault_parameter.parameter_arn])

        # Each step and compensation touches exactly the business tables it needs, or, when its
        # system is the pharmacy's own (infra/pharmacy.py), that system's URL and secret instead.
        create_rx, reserve, ship = Step.CREATE_PRESCRIPTION, Step.RESERVE_INVENTORY, Step.INITIATE_SHIPMENT
        cancel_rx, release = Compensation.CANCEL_PRESCRIPTION, Compensation.RELEASE_INVENTORY
        cancel_shipment = Compensation.CANCEL_SHIPMENT
        if pharmacy is not None:
            self._calls_pharmacy(pharmacy)
        on_tables = {name for name in names.ALL_FUNCTIONS if pharmacy is None or not pharmacy.calls_pharmacy(name)}
        # A compensation that finds no record writes a tombstone (PutItem) so the late step cannot
        # act; a repeated reservation reads the one it made (GetItem).
        if create_rx in on_tables:
            # On the tables the saga checks an order's medications against its catalogue before any
            # prescription is made; over HTTP the pharmacy's own catalogue decides (lambdas/logic/saga_steps.py).
            self._uses_table(create_rx, contract.CATALOGUE_TABLE, business.catalogue, ["dynamodb:BatchGetItem"])
            self._uses_table(create_rx, contract.PRESCRIPTIONS_TABLE, business.prescriptions, ["dynamodb:PutItem"])
            self._uses_table(cancel_rx, contract.PRESCRIPTIONS_TABLE, business.prescriptions, UNDO_RECORD)
        if reserve in on_tables:
            self._uses_table(reserve, contract.INVENTORY_TABLE, business.inventory, ["dynamodb:UpdateItem"])
            self._uses_table(
                reserve, contract.RESERVATIONS_TABLE, business.reservations, ["dynamodb:GetItem", "dynamodb:PutItem"]
            )
            # The reservation checks, in the same transaction, that its saga did not move on.
            self._permit(reserve, ["dynamodb:ConditionCheckItem"], [event_store.table_arn])
            self._uses_table(release, contract.INVENTORY_TABLE, business.inventory, ["dynamodb:UpdateItem"])
            self._uses_table(
                release, contract.RESERVATIONS_TABLE, business.reservations, ["dynamodb:GetItem", *UNDO_RECORD]
            )
        if ship in on_tables:
            self._uses_table(ship, contract.SHIPMENTS_TABLE, business.shipments, ["dynamodb:PutItem"])
            self._uses_table(cancel_shipment, contract.SHIPMENTS_TABLE, business.shipments, UNDO_RECORD)

        # The saga starter records the start (or the rejection) and starts the execution.
        self._uses_event_store(names.START_SAGA, event_store, append=True)
        self._consumes(names.START_SAGA, order_events.start_queue)
        self._permit(names.START_SAGA, KEY_USE, [key.key_arn])
        self._consumes(names.RECORD_EXECUTION_OUTCOME, order_events.outcomes_queue)

        # Pharmacists' answers and cancellations; the waiting task's token is kept by its own function
        # and read by the one that answers it, nowhere else.
        self._consumes(names.ORDER_REQUESTS, order_events.requests_queue)
        if task_tokens is not None:
            self._environment(names.START_SAGA, contract.PRESCRIPTION_VERIFICATION, contract.PHARMACIST)
            self._uses_table(
                names.REQUEST_VERIFICATION, contract.VERIFICATION_TOKENS_TABLE, task_tokens, ["dynamodb:PutItem"]
            )
            self._uses_table(
                names.ORDER_REQUESTS, contract.VERIFICATION_TOKENS_TABLE, task_tokens, ["dynamodb:GetItem"]
            )

        # The projector and the publisher read the event store's stream.
        self._uses_event_store(names.PROJECTOR, event_store, append=False)
        self._uses_table(
            names.PROJECTOR, contract.SAGA_TABLE, store.sagas, ["dynamodb:BatchGetItem", "dynamodb:PutItem"]
        )
        self._environment(names.PUBLISHER, contract.EVENT_BUS_NAME, order_events.domain_bus.event_bus_name)
        # The publisher puts the saga's own source only, never one that looks like an order.
        self._permit(names.PUBLISHER, ["events:PutEvents"], [order_events.domain_bus.event_bus_arn], ONLY_DOMAIN_EVENTS)
        for name in (names.PROJECTOR, names.PUBLISHER):
            self._reads_stream(name, event_store)

    # --- building blocks ----------------------------------------------------------------

    def _calls_pharmacy(self, pharmacy: PharmacyApi) -> None:
        """The URL and the secret's name or ARN (never the token) in the environment, and the
        right to read that one secret (and to decrypt it, under a customer managed key), for each
        function whose system is the pharmacy's."""
        stack = Stack.of(self)
        secret_arn = pharmacy.secret_arn(
            lambda name: stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        )
        for name in pharmacy.functions:
            self._environment(name, contract.PHARMACY_API_URL, pharmacy.url)
            self._environment(name, contract.PHARMACY_API_SECRET, pharmacy.secret)
            self._permit(name, ["secretsmanager:GetSecretValue"], [secret_arn])
            if pharmacy.secret_key is not None:
                # A secret under a customer managed key: Secrets Manager decrypts it as the caller, so the
                # caller needs kms:Decrypt on that key, here only through Secrets Manager and for this secret
                # (Secrets Manager user guide, "Secret encryption and decryption": Permissions for the KMS key).
                self._permit(
                    name,
                    ["kms:Decrypt"],
                    [pharmacy.secret_key],
                    {
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:SecretARN": secret_arn},
                    },
                )

    def _function(self, name: str) -> lambda_.Function:
        construct_id = names.construct_id(name)
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=self._key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        access = ManagedRole(
            self,
            f"{construct_id}Access",
            service="lambda.amazonaws.com",
            description=f"Runs the {name} function of the order fulfillment saga",
        )
        self.roles[name] = access
        function = lambda_.Function(
            self,
            construct_id,
            description=f"Order fulfillment saga: {name.replace('_', ' ')}",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            code=self._code,
            handler=names.handler_path(name),
            memory_size=256,
            timeout=START_TIMEOUT if name == names.START_SAGA else FUNCTION_TIMEOUT,
            tracing=lambda_.Tracing.ACTIVE,
            role=access.role,
            log_group=log_group,
            environment={"POWERTOOLS_LOG_LEVEL": "INFO"},
        )
        # Logs: what AWSLambdaBasicExecutionRole grants, scoped to this function; X-Ray for active tracing.
        access.permit(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.log_group_arn}:*"])
        access.permit(XRAY_WRITE, ["*"])
        function.node.add_dependency(access.policy)
        self.functions[name] = function
        for rule, reason in (
            ("AwsSolutions-L1", nag.RUNTIME_CHOSEN),
            ("HIPAA.Security-LambdaDLQ", nag.SYNCHRONOUS_ONLY),
            ("HIPAA.Security-LambdaInsideVPC", nag.NO_VPC),
            ("HIPAA.Security-LambdaConcurrency", nag.CONCURRENCY),
        ):
            nag.acknowledge(function, rule, reason)
        nag.acknowledge(access.policy, nag.wildcard_finding(log_group), nag.LOG_STREAMS)
        nag.acknowledge(access.policy, nag.wildcard_finding(), nag.XRAY)
        return function

    def _permit(
        self, name: str, actions: list[str], resources: list[str], conditions: Mapping[str, Any] | None = None
    ) -> None:
        self.roles[name].permit(actions, resources, conditions)

    def _environment(self, name: str, variable: str, value: str) -> None:
        self.functions[name].add_environment(variable, value)

    def _uses_table(self, name: str, variable: str, table: ddb.ITable, actions: list[str]) -> None:
        self._environment(name, variable, table.table_name)
        self._permit(name, actions, [table.table_arn])
        self._permit(name, KEY_USE, [self._key.key_arn])

    def _uses_event_store(self, name: str, table: ddb.ITable, *, append: bool) -> None:
        self._uses_table(name, contract.EVENT_STORE_TABLE, table, EVENT_READ + (EVENT_APPEND if append else []))

    def _consumes(self, name: str, queue: sqs.IQueue) -> None:
        """An SQS event source, and the reads its mapping makes (CDK's grant would have been inline)."""
        self._add_event_source(
            name,
            sources.SqsEventSource(queue, batch_size=10, report_batch_item_failures=True),
            SQS_CONSUME,
            [queue.queue_arn],
        )

    def _reads_stream(self, name: str, table: ddb.Table) -> None:
        """A DynamoDB stream event source, the reads its mapping makes, and where a batch it gives up
        on is recorded: a queue of its own, which an alarm watches (a domain event stored but never
        projected or published must leave a trace)."""
        assert table.table_stream_arn is not None, "the event store has a stream"
        self._permit(name, [LIST_STREAMS], ["*"])
        failures = encrypted_queue(
            self, f"{names.construct_id(name)}StreamFailures", self._key, retention_period=Duration.days(14)
        )
        self.stream_failures[name] = failures
        nag.acknowledge(failures, "AwsSolutions-SQS3", nag.ON_FAILURE_DESTINATION)
        # Lambda sends the record of the batch with the function's role (Lambda developer guide,
        # "Retaining discarded batches"): SendMessage, and the key to encrypt it.
        self._permit(name, ["sqs:SendMessage"], [failures.queue_arn])
        self._permit(name, ["kms:GenerateDataKey", "kms:Decrypt"], [self._key.key_arn])
        self._add_event_source(
            name,
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                retry_attempts=10,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(failures),
            ),
            STREAM_READ,
            [table.table_stream_arn],
        )

    def _add_event_source(
        self, name: str, source: lambda_.IEventSource, actions: list[str], resources: list[str]
    ) -> None:
        self._permit(name, actions, resources)
        self._permit(name, ["kms:Decrypt"], [self._key.key_arn])
        function = self.functions[name]
        function.add_event_source(source)
        # Lambda checks the role can read the source when the mapping is created: policy first.
        for child in function.node.children:
            if isinstance(child, lambda_.EventSourceMapping):
                child.node.add_dependency(self.roles[name].policy)
