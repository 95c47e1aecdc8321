"""The stack's functions (environment, permissions), tables, queues and outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import names
from infra.security import XRAY_WRITE
from lambdas.adapters.memory import InMemoryEventStore
from lambdas.logic.publish import bus_entry
from lambdas.logic.repository import SagaRepository
from lambdas.logic.start import start_saga
from localcloud.deploy import CloudAssembly
from tests.fakes import FakeStarter
from tests.infra.template import (
    function_environment,
    function_id,
    permissions,
    resource_name,
    resources,
    role_permissions,
    role_policies,
)


@pytest.fixture(scope="module")
def template(assembly: CloudAssembly) -> dict[str, Any]:
    return assembly.template


def _ref_prefix(value: Any) -> str:
    return str(value.get("Ref") or value.get("Fn::GetAtt", [""])[0]) if isinstance(value, dict) else str(value)


def test_the_public_outputs_are_exported(template: dict[str, Any]) -> None:
    assert {
        "EventBusName",
        "StateMachineArn",
        "EventStoreTableName",
        "SagaTableName",
        "InventoryTableName",
        "CatalogueTableName",
        "PrescriptionsTableName",  # the harness finds every business table by its output (README)
        "ReservationsTableName",
        "ShipmentsTableName",
        "StartQueueUrl",
        "DeadLetterQueueUrl",
        "DashboardName",
    } <= set(template["Outputs"])


def test_every_function_is_python_3_13_on_arm64_with_its_own_handler_and_role(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == sorted(
        names.handler_path(n) for n in names.ALL_FUNCTIONS
    )
    roles = {str(f["Properties"]["Role"]) for f in functions.values()}
    assert len(roles) == len(functions), "one role per function"
    for function in functions.values():
        assert function["Properties"]["Runtime"] == "python3.13"
        assert function["Properties"]["Architectures"] == ["arm64"]
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


EXPECTED_ENVIRONMENT = {
    "start_saga": {"EVENT_STORE_TABLE": "EventStoreEvents", "STATE_MACHINE_ARN": "SagaStateMachine"},
    "create_prescription": {
        "EVENT_STORE_TABLE": "EventStoreEvents",
        "CATALOGUE_TABLE": "BusinessTablesCatalogue",
        "PRESCRIPTIONS_TABLE": "BusinessTablesPrescriptions",
    },
    "reserve_inventory": {
        "EVENT_STORE_TABLE": "EventStoreEvents",
        "INVENTORY_TABLE": "BusinessTablesInventory",
        "RESERVATIONS_TABLE": "BusinessTablesReservations",
    },
    "initiate_shipment": {"EVENT_STORE_TABLE": "EventStoreEvents", "SHIPMENTS_TABLE": "BusinessTablesShipments"},
    "cancel_prescription": {
        "EVENT_STORE_TABLE": "EventStoreEvents",
        "PRESCRIPTIONS_TABLE": "BusinessTablesPrescriptions",
    },
    "release_inventory": {
        "EVENT_STORE_TABLE": "EventStoreEvents",
        "INVENTORY_TABLE": "BusinessTablesInventory",
        "RESERVATIONS_TABLE": "BusinessTablesReservations",
    },
    "cancel_order": {"EVENT_STORE_TABLE": "EventStoreEvents"},
    "cancel_shipment": {"EVENT_STORE_TABLE": "EventStoreEvents", "SHIPMENTS_TABLE": "BusinessTablesShipments"},
    "record_compensation_failure": {"EVENT_STORE_TABLE": "EventStoreEvents"},
    "resume_saga": {"EVENT_STORE_TABLE": "EventStoreEvents"},
    "record_execution_outcome": {
        "EVENT_STORE_TABLE": "EventStoreEvents",
        "RESUME_STATE_MACHINE_ARN": "SagaResumeStateMachine",
    },
    # Cancellations: it stops the saga's execution, or starts its compensations when there is none yet.
    "order_requests": {
        "EVENT_STORE_TABLE": "EventStoreEvents",
        "STATE_MACHINE_ARN": "SagaStateMachine",
        "RESUME_STATE_MACHINE_ARN": "SagaResumeStateMachine",
    },
    "projector": {"EVENT_STORE_TABLE": "EventStoreEvents", "SAGA_TABLE": "EventStoreSagas"},
    "publisher": {"EVENT_BUS_NAME": "OrderEventsDomainBus"},
}
FAULT_INJECTED = {"create_prescription", "reserve_inventory", "initiate_shipment"} | {
    "cancel_prescription",
    "release_inventory",
    "cancel_order",
    "cancel_shipment",
}


@pytest.mark.parametrize("function", names.ALL_FUNCTIONS)
def test_each_function_gets_exactly_the_settings_it_uses(template: dict[str, Any], function: str) -> None:
    env = function_environment(template, function)
    expected = dict(EXPECTED_ENVIRONMENT[function])
    if function in FAULT_INJECTED:
        expected["FAULT_INJECTION_PARAMETER"] = "FaultInjectionPlan"
    settings = {k: _ref_prefix(v) for k, v in env.items() if not k.startswith("POWERTOOLS_")}
    assert set(settings) == set(expected)
    for key, prefix in expected.items():
        assert settings[key].startswith(prefix), (key, settings[key])


@pytest.mark.parametrize("function", names.ALL_FUNCTIONS)
def test_no_function_is_granted_a_wildcard_action(template: dict[str, Any], function: str) -> None:
    # Which actions and resources each function may use is derived from what its code calls:
    # tests/infra/test_permissions.py.
    granted = permissions(template, function)
    assert granted, "every function has a policy"
    assert all("*" not in action for action, _ in granted), "no wildcard actions"
    # The event store is append-only, and only the saga's own functions append to it.
    appends = {a for a, t in granted if t.startswith("EventStoreEvents") and a == "dynamodb:PutItem"}
    assert bool(appends) == (function not in {"projector", "publisher"})
    assert not {
        a
        for a, t in granted
        if t.startswith("EventStoreEvents") and a in {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    }


def test_every_permission_is_in_one_managed_policy_per_role_and_none_inline(template: dict[str, Any]) -> None:
    assert resources(template, "AWS::IAM::Policy") == {}, "no inline (default) policies"
    roles = resources(template, "AWS::IAM::Role")
    assert len(roles) == len(names.ALL_FUNCTIONS) + 2, "one per function and per state machine"
    for logical_id, role in roles.items():
        assert "Policies" not in role["Properties"], logical_id
        assert "ManagedPolicyArns" not in role["Properties"], f"{logical_id}: no AWS-managed policy"
        assert len(role_policies(template, logical_id)) == 1, logical_id
        assert set(XRAY_WRITE) <= {a for a, _ in role_permissions(template, logical_id)}, "active tracing"


LAMBDA_READS_A_QUEUE = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
"""What Lambda's SQS poller calls with the function's role: the actions of the AWSLambdaSQSQueueExecutionRole
managed policy (Lambda developer guide, "Using Lambda with Amazon SQS", execution role permissions)."""
LAMBDA_READS_A_STREAM = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
"""The same for a DynamoDB stream: the AWSLambdaDynamoDBExecutionRole managed policy's actions (AWS Managed
Policy reference), on the stream; its fourth, dynamodb:ListStreams, has no resource-level permissions."""


def test_event_source_mappings_read_only_their_source_and_wait_for_that_permission(template: dict[str, Any]) -> None:
    mappings = resources(template, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 5, "start, outcomes and requests queues, the projector's and the publisher's stream"
    for logical_id, mapping in mappings.items():
        function = template["Resources"][mapping["Properties"]["FunctionName"]["Ref"]]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        source = resource_name(mapping["Properties"]["EventSourceArn"])
        granted = set(role_permissions(template, role))
        if "Queue" in source:
            assert {(action, source) for action in LAMBDA_READS_A_QUEUE} <= granted, logical_id
        else:
            assert {(action, source) for action in LAMBDA_READS_A_STREAM} <= granted, logical_id
            assert ("dynamodb:ListStreams", "*") in granted, logical_id
        # Lambda checks the role when it creates the mapping: the policy must exist by then.
        assert set(role_policies(template, role)) <= set(mapping.get("DependsOn", [])), logical_id


def test_tables_are_encrypted_recoverable_and_the_event_store_streams(template: dict[str, Any]) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 7
    for table in tables.values():
        properties = table["Properties"]
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    [events] = [t for k, t in tables.items() if k.startswith("EventStoreEvents")]
    assert events["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert events["Properties"]["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    [sagas] = [t for k, t in tables.items() if k.startswith("EventStoreSagas")]
    assert sagas["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by-state"


def test_order_events_reach_the_start_queue_which_dead_letters_after_three_receives(template: dict[str, Any]) -> None:
    rules = resources(template, "AWS::Events::Rule")
    [order_rule] = [
        r
        for r in rules.values()
        if r["Properties"]["EventPattern"].get("source") == ["pharmacy.orders"]
        and r["Properties"]["EventPattern"]["detail-type"] == ["OrderCreated"]
    ]
    target = order_rule["Properties"]["Targets"][0]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("OrderEventsStartQueue")
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("OrderEventsDeadLetterQueue")
    queues = resources(template, "AWS::SQS::Queue")
    [start] = [q for k, q in queues.items() if k.startswith("OrderEventsStartQueue")]
    assert start["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3
    assert start["Properties"]["VisibilityTimeout"] >= 6 * 30
    mappings = resources(template, "AWS::Lambda::EventSourceMapping")
    assert all(m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings.values())


def test_only_this_accounts_rules_may_send_to_the_queues(template: dict[str, Any]) -> None:
    # Without a condition any account's EventBridge rule could target a queue: orders injected
    # into the start queue from outside, say (the encrypted queues' default before a CDK flag).
    granted = [
        statement
        for policy in resources(template, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    # the start, outcomes, requests (one per rule: answers, cancellations) and domain-event queues, their
    # dead-letter queues and the buses'
    assert len(granted) == 10
    for statement in granted:
        condition = statement["Condition"]
        assert condition.get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"} or (
            "aws:SourceArn" in condition.get("ArnEquals", {})
        ), statement


def test_alarms_page_through_the_encrypted_topic(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    described = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    assert {
        "CompensationFailures",
        "ApproximateNumberOfMessagesVisible",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    } <= set(described)
    assert described["CompensationFailures"]["Threshold"] == 1
    [topic_id] = resources(template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    assert "KmsMasterKeyId" in template["Resources"][topic_id]["Properties"]


def test_executions_that_end_unfinished_reach_the_outcome_handler(template: dict[str, Any]) -> None:
    rules = resources(template, "AWS::Events::Rule")
    [rule] = [r for r in rules.values() if r["Properties"]["EventPattern"].get("source") == ["aws.states"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert "EventBusName" not in rule["Properties"], "Step Functions publishes to the default bus"
    assert rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0].startswith("OrderEventsExecutionOutcomesQueue")


def test_the_alarm_topic_lets_cloudwatch_publish_this_accounts_alarms_and_nobody_else(template: dict[str, Any]) -> None:
    [policy] = resources(template, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [allowed] = [s for s in statements if s["Effect"] == "Allow"]
    assert allowed["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allowed["Action"] == "sns:Publish"
    assert allowed["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = json.dumps(allowed["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":cloudwatch:" in source
    assert ":alarm:*" in source


def test_both_buses_and_the_archive_are_encrypted_with_the_stacks_key(template: dict[str, Any]) -> None:
    [key] = resources(template, "AWS::KMS::Key")
    buses = resources(template, "AWS::Events::EventBus")
    assert len(buses) == 2, "orders in, domain events out"
    for bus in buses.values():
        assert bus["Properties"]["KmsKeyIdentifier"] == {"Fn::GetAtt": [key, "Arn"]}
    archives = resources(template, "AWS::Events::Archive")
    [archive] = [a for k, a in archives.items() if k.startswith("OrderEventsDomainBusArchive")]
    assert archive["Properties"]["KmsKeyIdentifier"] == {"Fn::GetAtt": [key, "Arn"]}, "not aws-cdk-lib's empty string"
    # The archive of the events published on the shared bus keeps its logical id (moving an archive to
    # another bus replaces it, and deletes what it holds): retained, and without the empty key id.
    legacy = archives["OrderEventsDomainEventsArchive9B2CBA43"]
    order_bus = [k for k in buses if k.startswith("OrderEventsBus")]
    assert legacy["Properties"]["SourceArn"] == {"Fn::GetAtt": [*order_bus, "Arn"]}, "where it was: not replaced"
    assert legacy["Properties"]["EventPattern"] == {"source": ["pharmacy.saga"]}
    assert "KmsKeyIdentifier" not in legacy["Properties"]
    # EventBridge may use the key for the archive (EventBridge user guide, "Encrypting archives")
    statements = template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    [archiving] = [s for s in statements if s.get("Sid") == "EventBridgeArchivesDomainEvents"]
    assert {"kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"} <= set(archiving["Action"])
    assert "kms:EncryptionContext:aws:events:event-bus:arn" in archiving["Condition"]["StringEquals"]
    # DescribeKey carries no encryption context: it is granted on its own, on the account only
    [describing] = [s for s in statements if s.get("Sid") == "EventBridgeDescribesTheArchiveKey"]
    assert describing["Action"] == "kms:DescribeKey"
    assert set(describing["Condition"]["StringEquals"]) == {"aws:SourceAccount"}


def test_the_buses_send_what_they_cannot_encrypt_to_a_queue_that_can_take_it(template: dict[str, Any]) -> None:
    buses = resources(template, "AWS::Events::EventBus")
    [queue] = {b["Properties"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] for b in buses.values()}
    assert template["Resources"][queue]["Properties"]["SqsManagedSseEnabled"] is True, "not under the buses' key"
    [policy] = [
        p
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue}]
    ]
    [allowed] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allowed["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(a["Fn::GetAtt"][0] for a in allowed["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(buses)


def _source_the_publisher_puts() -> str:
    """The Source of the entries the publisher's code builds, for an event the saga stores."""
    store = InMemoryEventStore()
    order = {"order_id": "o-1", "patient_id": "p-1", "medications": ["med-1"]}
    start_saga(SagaRepository(store, source="test"), FakeStarter(), json.dumps({"detail": order}), "m-1")
    sources = {bus_entry(stored, "domain-bus")["Source"] for stored in store.iter_all()}
    [source] = sources
    return str(source)


def test_the_domain_events_bus_takes_events_from_the_publisher_only(template: dict[str, Any]) -> None:
    policies = resources(template, "AWS::Events::EventBusPolicy").values()
    statements = {p["Properties"]["Statement"]["Effect"]: p["Properties"]["Statement"] for p in policies}
    publisher_role = template["Resources"][function_id(template, "publisher")]["Properties"]["Role"]
    assert statements["Deny"]["Action"] == "events:PutEvents"
    assert statements["Deny"]["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": publisher_role}
    assert statements["Allow"]["Principal"] == {"AWS": publisher_role}
    domain_bus = statements["Deny"]["Resource"]["Fn::GetAtt"][0]
    # and the publisher may put there only the source its code puts: EventBridge authorises each entry
    # with its events:source ("Using IAM policy conditions in Amazon EventBridge"). Within one account
    # an Allow in either the bus policy or the role's own policy suffices, so both carry the condition.
    only_its_source = {"StringEquals": {"events:source": _source_the_publisher_puts()}}
    assert statements["Allow"]["Condition"] == only_its_source
    role = publisher_role["Fn::GetAtt"][0]
    grants = [
        statement
        for policy in role_policies(template, role).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "events:PutEvents"
        in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    ]
    assert [(g["Resource"]["Fn::GetAtt"][0], g.get("Condition")) for g in grants] == [(domain_bus, only_its_source)]
    assert function_environment(template, "publisher")["EVENT_BUS_NAME"] == {"Ref": domain_bus}
    rules = resources(template, "AWS::Events::Rule").values()
    on_domain_bus = [r for r in rules if r["Properties"].get("EventBusName") == {"Ref": domain_bus}]
    assert [r["Properties"]["EventPattern"] for r in on_domain_bus] == [{"source": ["pharmacy.saga"]}]


def test_each_stream_consumer_records_what_it_gives_up_in_a_queue_an_alarm_watches(template: dict[str, Any]) -> None:
    mappings = [
        m
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in m["Properties"]
    ]
    assert len(mappings) == 2, "the projector and the publisher"
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    for mapping in mappings:
        destination = mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert template["Resources"][destination]["Type"] == "AWS::SQS::Queue"
        watching = [
            a for a in alarms
            if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [destination, "QueueName"]}
        ]  # fmt: skip
        assert len(watching) == 1, destination
        function = mapping["Properties"]["FunctionName"]["Ref"]
        role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert ("sqs:SendMessage", destination) in role_permissions(template, role), "Lambda sends it as the function"
        on_function = {
            a["Properties"]["MetricName"]
            for a in alarms
            if a["Properties"].get("Dimensions", [{}])[0].get("Value") == {"Ref": function}
        }
        assert {"IteratorAge", "Errors"} <= on_function


def test_the_compensation_machines_unfinished_executions_are_watched(template: dict[str, Any]) -> None:
    [resume] = [
        k for k in resources(template, "AWS::StepFunctions::StateMachine") if k.startswith("SagaResumeStateMachine")
    ]
    rules = resources(template, "AWS::Events::Rule").values()
    [rule] = [r for r in rules if r["Properties"]["EventPattern"].get("source") == ["aws.states"]]
    assert {"Ref": resume} in rule["Properties"]["EventPattern"]["detail"]["stateMachineArn"]
    watched = {
        a["Properties"]["MetricName"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/States"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Ref": resume}
    }
    assert watched == {"ExecutionsFailed", "ExecutionsTimedOut"}
