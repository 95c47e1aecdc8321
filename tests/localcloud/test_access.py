"""The local cloud refuses what AWS refuses: each caller acts with its own role's permissions.

Each test provokes one kind of refusal on the deployed stack and checks that it fails as it
fails on AWS: the error code and message AWS gives (IAM User Guide, "Troubleshoot access
denied error messages"), and nothing done.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from harness.inprocess import InProcess, deployed
from infra import names
from lambdas import contract
from lambdas.contract import DOMAIN_EVENT_SOURCE
from localcloud.cloud import LocalCloud
from localcloud.deploy import CloudAssembly, DeploymentFailed
from tests.access import assumed_client
from tests.e2e.helpers import edited_assembly, execution_arn, order, records

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_lambda.type_defs import FunctionConfigurationTypeDef

pytestmark = pytest.mark.allow_refusals

Attempt = Callable[[], Any]


def _function(cloud: InProcess, function: str) -> FunctionConfigurationTypeDef:
    functions = cloud.client("lambda").list_functions()["Functions"]
    return next(f for f in functions if f["Handler"] == names.handler_path(function))


def _as_function(cloud: InProcess, function: str, attempt: Attempt) -> dict[str, Any]:
    """Run `attempt` inside `function`'s handler (so as its role): what it returned, or the AWS error."""

    def handler(event: Any, context: Any) -> dict[str, Any]:
        try:
            return {"returned": attempt()}
        except ClientError as error:
            return {
                "code": error.response["Error"]["Code"],
                "message": error.response["Error"]["Message"],
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            }

    cloud.local.runtime.replacements[names.handler_path(function)] = handler
    try:
        response = cloud.client("lambda").invoke(FunctionName=_function(cloud, function)["FunctionName"], Payload=b"{}")
        result: dict[str, Any] = json.loads(response["Payload"].read())
        return result
    finally:
        del cloud.local.runtime.replacements[names.handler_path(function)]


def _denied(cloud: InProcess, function: str, action: str, resource: str) -> str:
    """The message AWS gives the function's role for an action no identity policy allows."""
    configuration = _function(cloud, function)
    role_name = configuration["Role"].rsplit("/", 1)[1]
    return (
        f"User: arn:aws:sts::{cloud.local.account}:assumed-role/{role_name}/{configuration['FunctionName']} "
        f"is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def _table_arn(cloud: InProcess, name: str) -> str:
    return str(cloud.client("dynamodb").describe_table(TableName=name)["Table"]["TableArn"])


def _table(cloud: InProcess, suffix: str) -> str:
    tables: list[str] = cloud.client("dynamodb").list_tables()["TableNames"]
    return next(t for t in tables if f"BusinessTables{suffix}" in t)


def test_an_action_the_role_does_not_allow_fails_with_awss_access_denied(cloud: InProcess) -> None:
    # Given cancel_order, whose role may read and append the event store but not delete from it
    events = cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE]
    dynamodb = cloud.client("dynamodb")
    # When its code deletes an event
    result = _as_function(
        cloud,
        "cancel_order",
        lambda: dynamodb.delete_item(TableName=events, Key={"pk": {"S": "saga-x"}, "sk": {"N": "1"}}),
    )
    # Then DynamoDB refuses it as AWS does: code, status, message
    assert result == {
        "code": "AccessDeniedException",
        "status": 400,
        "message": _denied(cloud, "cancel_order", "dynamodb:DeleteItem", _table_arn(cloud, events)),
    }


def test_an_allowed_action_on_a_resource_the_role_was_not_given_is_refused(cloud: InProcess) -> None:
    events = cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE]
    prescriptions = _table(cloud, "Prescriptions")
    dynamodb = cloud.client("dynamodb")

    def put(table: str, key: dict[str, Any]) -> Attempt:
        # The condition fails: an authorised put is told so and writes nothing.
        return lambda: dynamodb.put_item(TableName=table, Item=key, ConditionExpression="attribute_exists(nothing)")

    # cancel_order may PutItem on the event store ...
    on_events = _as_function(cloud, "cancel_order", put(events, {"pk": {"S": "saga-x"}, "sk": {"N": "1"}}))
    assert on_events["code"] == "ConditionalCheckFailedException", "authorised, then refused by the condition"
    # ... and on no other table
    on_prescriptions = _as_function(cloud, "cancel_order", put(prescriptions, {"prescription_id": {"S": "rx-x"}}))
    assert on_prescriptions["code"] == "AccessDeniedException"
    assert on_prescriptions["message"] == _denied(
        cloud, "cancel_order", "dynamodb:PutItem", _table_arn(cloud, prescriptions)
    )
    assert records(cloud, "Prescriptions") == []


def test_a_transaction_is_refused_when_one_item_is_not_allowed(cloud: InProcess) -> None:
    # reserve_inventory may put reservations and check the event store, not the prescriptions
    reservations, prescriptions = _table(cloud, "Reservations"), _table(cloud, "Prescriptions")
    events = cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE]
    dynamodb = cloud.client("dynamodb")
    never = "attribute_exists(nothing)"
    put: TransactWriteItemTypeDef = {
        "Put": {"TableName": reservations, "Item": {"reservation_id": {"S": "res-x"}}, "ConditionExpression": never}
    }

    def check(table: str, key: dict[str, Any]) -> TransactWriteItemTypeDef:
        return {"ConditionCheck": {"TableName": table, "Key": key, "ConditionExpression": never}}

    allowed = _as_function(
        cloud,
        "reserve_inventory",
        lambda: dynamodb.transact_write_items(TransactItems=[put, check(events, {"pk": {"S": "a"}, "sk": {"N": "1"}})]),
    )
    assert allowed["code"] == "TransactionCanceledException", "authorised item by item, then cancelled"
    refused = _as_function(
        cloud,
        "reserve_inventory",
        lambda: dynamodb.transact_write_items(
            TransactItems=[put, check(prescriptions, {"prescription_id": {"S": "x"}})]
        ),
    )
    assert refused["code"] == "AccessDeniedException"
    assert refused["message"] == _denied(
        cloud, "reserve_inventory", "dynamodb:ConditionCheckItem", _table_arn(cloud, prescriptions)
    )


def test_sqs_refuses_with_its_own_error_code(cloud: InProcess) -> None:
    sqs = cloud.client("sqs")
    queue = cloud.outputs[names.OUTPUT_START_QUEUE]
    result = _as_function(cloud, "cancel_order", lambda: sqs.send_message(QueueUrl=queue, MessageBody="{}"))
    assert result["code"] == "AccessDenied"
    assert "is not authorized to perform: sqs:SendMessage" in result["message"]


def test_a_state_machine_may_invoke_only_the_functions_its_role_names(cloud: InProcess) -> None:
    # Given the saga's state machine role without its grant to invoke create_prescription
    iam = cloud.client("iam")
    machine = cloud.client("stepfunctions").describe_state_machine(
        stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE]
    )
    role = machine["roleArn"].rsplit("/", 1)[1]
    [policy_arn] = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    create_prescription = _function(cloud, "create_prescription")["FunctionArn"]
    for statement in document["Statement"]:
        if isinstance(statement["Resource"], list):
            statement["Resource"] = [r for r in statement["Resource"] if not r.startswith(create_prescription)]
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    # When an order arrives
    cloud.put_order(order("no-invoke", "med-1"))
    # Then Lambda refuses its first task, the function never runs, and the saga is undone
    assert cloud.wait_for_sagas(["no-invoke"]) == {"no-invoke": "FAILED"}
    history = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn(cloud, "no-invoke"))
    [failed] = [e for e in history["events"] if e["type"] == "LambdaFunctionFailed"][:1]
    assert (
        f"assumed-role/{role}/StepFunctions is not authorized to perform: lambda:InvokeFunction "
        f"on resource: {create_prescription} because no identity-based policy allows"
    ) in failed["lambdaFunctionFailedEventDetails"]["cause"]
    assert cloud.local.runtime.invocations.get(_function(cloud, "create_prescription")["FunctionName"], 0) == 0
    assert [e["type"] for e in history["events"]].count("LambdaFunctionSucceeded") >= 2, "the compensations ran"


def test_an_assumed_roles_credentials_act_as_that_role(cloud: InProcess) -> None:
    # Given a role that may only read the catalogue, assumed through STS
    catalogue = cloud.outputs[names.OUTPUT_CATALOGUE_TABLE]
    reads = [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": _table_arn(cloud, catalogue)}]
    dynamodb = assumed_client(cloud, "dynamodb", "catalogue-reader", reads)
    # Then it reads, and it may not write
    assert "Item" in dynamodb.get_item(TableName=catalogue, Key={"medication_id": {"S": "med-1"}})
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=catalogue, Item={"medication_id": {"S": "med-9"}})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "assumed-role/catalogue-reader/tests is not authorized to perform: dynamodb:PutItem" in str(refused.value)


def test_a_mapping_whose_role_cannot_read_its_queue_is_refused_at_deployment(
    assembly: CloudAssembly, tmp_path: Path
) -> None:
    # Given the template with start_saga's role stripped of sqs:ReceiveMessage
    def without_receive(template: dict[str, Any]) -> None:
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.startswith("FunctionsStartSagaAccess"):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if isinstance(statement["Action"], list) and "sqs:ReceiveMessage" in statement["Action"]:
                        statement["Action"].remove("sqs:ReceiveMessage")

    edited = edited_assembly(assembly, tmp_path / "assembly", without_receive)
    # When it is deployed, then the deployment fails as CreateEventSourceMapping does on AWS
    with (
        LocalCloud.start() as local,
        pytest.raises(DeploymentFailed, match="permissions to call ReceiveMessage on SQS"),
    ):
        local.deploy(edited)


def _without_statements(policy: str, test: Callable[[dict[str, Any]], bool]) -> str:
    document = json.loads(policy)
    document["Statement"] = [s for s in document["Statement"] if not test(s)]
    return json.dumps(document)


def _by_service(service: str) -> Callable[[dict[str, Any]], bool]:
    return lambda statement: statement.get("Principal") == {"Service": service}


@pytest.mark.allow_undelivered
def test_a_rule_target_whose_queue_policy_does_not_allow_the_rule_gets_nothing(cloud: InProcess) -> None:
    # Given the start queue's policy without its grant to EventBridge
    sqs = cloud.client("sqs")
    start = cloud.outputs[names.OUTPUT_START_QUEUE]
    policy = sqs.get_queue_attributes(QueueUrl=start, AttributeNames=["Policy"])["Attributes"]["Policy"]
    sqs.set_queue_attributes(
        QueueUrl=start, Attributes={"Policy": _without_statements(policy, _by_service("events.amazonaws.com"))}
    )
    # When an order is put on the bus
    cloud.put_order(order("undeliverable", "med-1"))
    cloud.local.wait_until_idle()
    # Then EventBridge may not send it to the queue: no saga, and the event is in the target's
    # dead-letter queue (whose policy allows the rule), with AWS's error attributes
    assert cloud.projection().get("undeliverable") is None
    [refused] = cloud.local.undelivered_events()
    assert refused.dead_lettered
    assert "events.amazonaws.com is not authorized to perform: sqs:SendMessage" in refused.reason
    dead_letters = cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE]
    [message] = sqs.receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"])["detail"]["order_id"] == "undeliverable"
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"


def _assumed(cloud: InProcess, role_name: str, statements: list[dict[str, Any]]) -> Any:
    """An EventBridge client with the credentials of a new role of this account, assumed through STS."""
    return assumed_client(cloud, "events", role_name, statements)


def _entry(bus: str, source: str, detail_type: str) -> PutEventsRequestEntryTypeDef:
    return {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps({"order_id": "x"})}


def test_only_the_publisher_puts_events_on_the_domain_events_bus(cloud: InProcess) -> None:
    # Given a producer whose own policy allows PutEvents on every bus
    events = _assumed(cloud, "broad-producer", [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}])
    domain_bus = cloud.outputs[names.OUTPUT_DOMAIN_EVENT_BUS]
    # It may send orders
    assert (
        events.put_events(Entries=[_entry(cloud.outputs[names.OUTPUT_EVENT_BUS], "pharmacy.orders", "OrderCreated")])[
            "FailedEntryCount"
        ]
        == 0
    )
    # but not an event that looks like the saga's own on the domain bus: the bus policy denies it
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[_entry(domain_bus, "pharmacy.saga", "order_fulfillment_saga.completed")])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "with an explicit deny in a resource-based policy" in str(refused.value)
    # nor may the account's own credentials
    with pytest.raises(ClientError):
        cloud.client("events").put_events(
            Entries=[_entry(domain_bus, "pharmacy.saga", "order_fulfillment_saga.completed")]
        )


def test_the_publisher_puts_the_sagas_source_only_on_the_domain_events_bus(cloud: InProcess) -> None:
    # The bus policy limits who may put and, since issue 23, what: the publisher's role put an
    # OrderCreated of pharmacy.orders there. EventBridge authorises each entry with its events:source.
    domain_bus = cloud.outputs[names.OUTPUT_DOMAIN_EVENT_BUS]
    events = cloud.client("events")

    def put(source: str, detail_type: str) -> Callable[[], Any]:
        return lambda: events.put_events(Entries=[_entry(domain_bus, source, detail_type)])["FailedEntryCount"]

    # As the publisher's role, an order that looks like a pharmacy's is refused ...
    forged = _as_function(cloud, names.PUBLISHER, put(contract.ORDER_SOURCE, contract.ORDER_DETAIL_TYPE))
    assert forged.get("code") == "AccessDeniedException", forged
    assert "events:PutEvents" in forged["message"]
    # ... and so is any source but the saga's own, while the saga's own is put
    assert _as_function(cloud, names.PUBLISHER, put("pharmacy.saga.v2", "order.x")).get("code") == (
        "AccessDeniedException"
    )
    assert _as_function(cloud, names.PUBLISHER, put(DOMAIN_EVENT_SOURCE, "order_fulfillment_saga.completed")) == {
        "returned": 0
    }
    # Each entry is decided with its own source: a forged entry behind a good one is not put either.
    # (AWS may answer it in the entry, PutEventsResultEntry's AccessDeniedException; the local cloud
    # refuses the whole request, never more permissive.)
    mixed = [
        _entry(domain_bus, DOMAIN_EVENT_SOURCE, "order_fulfillment_saga.completed"),
        _entry(domain_bus, contract.ORDER_SOURCE, contract.ORDER_DETAIL_TYPE),
    ]
    assert _as_function(cloud, names.PUBLISHER, lambda: events.put_events(Entries=mixed)).get("code") == (
        "AccessDeniedException"
    )


def test_the_order_bus_takes_order_created_from_the_producers_named_in_context(tmp_path: Path) -> None:
    from harness.assembly import synthesize

    producer = "arn:aws:iam::123456789012:role/pharmacy-api"
    assembly = synthesize(fault_injection=False, context={"order_producers": producer})
    with deployed(assembly, seeded=False) as cloud:
        bus = cloud.outputs[names.OUTPUT_EVENT_BUS]
        # A named producer, with no permission of its own, may put OrderCreated ...
        named = _assumed(cloud, "pharmacy-api", [])
        assert named.put_events(Entries=[_entry(bus, "pharmacy.orders", "OrderCreated")])["FailedEntryCount"] == 0
        # ... and nothing else on the bus
        with pytest.raises(ClientError) as refused:
            named.put_events(Entries=[_entry(bus, "pharmacy.saga", "order_fulfillment_saga.completed")])
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        # while a principal not named needs a permission of its own
        with pytest.raises(ClientError) as unnamed:
            _assumed(cloud, "someone-else", []).put_events(Entries=[_entry(bus, "pharmacy.orders", "OrderCreated")])
        assert "because no identity-based policy allows the events:PutEvents action" in str(unnamed.value)


def test_a_thread_a_handler_starts_acts_with_the_functions_role_not_the_accounts(cloud: InProcess) -> None:
    # A new thread starts with an empty context: it must not fall back to the account's own access
    events = cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE]
    dynamodb = cloud.client("dynamodb")

    def in_a_thread() -> Any:
        outcome: list[Any] = []
        worker = threading.Thread(
            target=lambda: outcome.append(
                _call(lambda: dynamodb.delete_item(TableName=events, Key={"pk": {"S": "saga-x"}, "sk": {"N": "1"}}))
            )
        )
        worker.start()
        worker.join()
        return outcome[0]

    result = _as_function(cloud, "cancel_order", in_a_thread)
    assert result["returned"]["code"] == "AccessDeniedException"
    assert "assumed-role/" in result["returned"]["message"]


def _call(attempt: Attempt) -> dict[str, Any]:
    try:
        return {"returned": attempt()}
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}


@pytest.mark.allow_errors("SagaNotFound")
def test_invoking_a_qualified_function_needs_a_grant_on_the_qualified_arn(cloud: InProcess) -> None:
    function = _function(cloud, "cancel_order")
    grant = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function["FunctionArn"]}
    lambda_ = assumed_client(cloud, "lambda", "invoker", [grant])
    # A payload naming a qualifier does not change what is checked; a qualifier does
    payload = json.dumps({"Qualifier": "live", "order_id": "nobody"}).encode()
    assert lambda_.invoke(FunctionName=function["FunctionName"], Payload=payload)["StatusCode"] == 200
    with pytest.raises(ClientError) as refused:
        lambda_.invoke(FunctionName=function["FunctionName"], Qualifier="live", Payload=b"{}")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"lambda:InvokeFunction on resource: {function['FunctionArn']}:live" in str(refused.value)


def test_a_role_is_assumed_only_as_its_trust_policy_allows(cloud: InProcess) -> None:
    iam = cloud.client("iam")
    lambda_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="for-lambda", AssumeRolePolicyDocument=json.dumps(lambda_only))["Role"]
    with pytest.raises(ClientError) as refused:
        cloud.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="me")
    assert "because the role's trust policy does not allow it" in str(refused.value)


def test_a_pooled_worker_runs_each_task_as_the_caller_that_submitted_it(cloud: InProcess) -> None:
    # The pool's worker is made inside cancel_order's invocation; a later task from the account's
    # own credentials must not run as cancel_order, nor cancel_order's as the account.
    from concurrent.futures import ThreadPoolExecutor

    from localcloud.access import principals

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        as_function = _as_function(cloud, "cancel_order", lambda: str(pool.submit(principals.current).result()))
        assert ":role/" in as_function["returned"]
        assert pool.submit(principals.current).result() is None, "the submitter's own credentials"
    finally:
        pool.shutdown()


def test_a_federated_role_assumption_is_refused_and_who_am_i_always_answers(cloud: InProcess) -> None:
    # moto takes any web identity token: the local cloud, which models no federated principal, refuses
    iam = cloud.client("iam")
    web = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "accounts.google.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
            }
        ],
    }
    role = iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(web))["Role"]
    with pytest.raises(ClientError) as refused:
        cloud.client("sts").assume_role_with_web_identity(
            RoleArn=role["Arn"], RoleSessionName="web-user", WebIdentityToken="x" * 20
        )
    assert "federated principals are not modelled" in str(refused.value)
    # GetCallerIdentity needs no permission on AWS
    nobody = assumed_client(cloud, "sts", "nothing-allowed", [])
    assert ":assumed-role/nothing-allowed/" in nobody.get_caller_identity()["Arn"]
