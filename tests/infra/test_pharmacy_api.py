"""The pharmacy API configuration: refused at synthesis when wrong; when right, only the configured
steps' functions get its URL, its secret's name and the right to read that one secret."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from app import build_app
from infra.pharmacy import PharmacyApi, PharmacyConfigurationError, pharmacy_api
from localcloud.deploy import CloudAssembly
from tests.infra.stacks import KEY_ARN, SECRET, SECRET_ARN, URL
from tests.infra.template import (
    Template,
    flatten,
    function_environment,
    function_id,
    permissions,
    resources,
    role_policies,
)

# The six functions that call the three systems: each step and its compensation (lambdas/domain/states.py).
PRESCRIPTION_FUNCTIONS = {"create_prescription", "cancel_prescription"}
INVENTORY_FUNCTIONS = {"reserve_inventory", "release_inventory"}
SHIPMENT_FUNCTIONS = {"initiate_shipment", "cancel_shipment"}
HANDLERS = (
    *("start_saga", "create_prescription", "reserve_inventory", "initiate_shipment", "cancel_prescription"),
    *("release_inventory", "cancel_shipment", "record_compensation_failure", "resume_saga"),
    *("record_execution_outcome", "projector", "publisher"),
)
# AWS: a policy naming a secret by its name matches the hyphen and six random characters Secrets
# Manager appends to the ARN with `-??????` (Secrets Manager user guide, "Permissions policy examples").
NAMED_SECRET_RESOURCE = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + SECRET + "-??????"
)


def _parse(**context: Any) -> PharmacyApi | None:
    return pharmacy_api(context.get)


# --- configuration ---------------------------------------------------------------------------


def test_without_a_url_there_is_no_pharmacy_api() -> None:
    assert _parse() is None
    assert _parse(pharmacy_api_url="") is None


def test_a_url_without_steps_sends_all_three_steps_to_the_pharmacy() -> None:
    api = _parse(pharmacy_api_url=URL + "/", pharmacy_api_secret=SECRET)
    assert api == PharmacyApi(url=URL, secret=SECRET, steps=("prescriptions", "inventory", "shipments"))
    assert set(api.functions) == PRESCRIPTION_FUNCTIONS | INVENTORY_FUNCTIONS | SHIPMENT_FUNCTIONS


def test_steps_are_a_comma_separated_subset_in_any_order() -> None:
    api = _parse(pharmacy_api_url=URL, pharmacy_api_secret=SECRET_ARN, pharmacy_api_steps=" shipments, prescriptions")
    assert api is not None
    assert api.steps == ("prescriptions", "shipments")
    assert set(api.functions) == PRESCRIPTION_FUNCTIONS | SHIPMENT_FUNCTIONS
    assert api.secret == SECRET_ARN


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9000/base", "http://[::1]:8443", "http://127.0.0.2:1"]
)
def test_plain_http_is_allowed_for_a_loopback_host_only(url: str) -> None:
    api = _parse(pharmacy_api_url=url, pharmacy_api_secret=SECRET)
    assert api is not None
    assert api.url == url.rstrip("/")


@pytest.mark.parametrize(
    ("context", "says"),
    [
        ({"pharmacy_api_url": "http://pharmacy.example.com"}, "must use https://"),
        ({"pharmacy_api_url": "http://10.0.0.1:8080"}, "must use https://"),
        ({"pharmacy_api_url": "ftp://pharmacy.example.com"}, "absolute https:// URL"),
        ({"pharmacy_api_url": "pharmacy.example.com/api"}, "absolute https:// URL"),
        ({"pharmacy_api_url": "https://:443/api"}, "absolute https:// URL"),
        ({"pharmacy_api_url": "https://pharmacy.example.com:99999"}, "is not a URL"),
        ({"pharmacy_api_url": "https://user:token@pharmacy.example.com"}, "no user, password"),
        ({"pharmacy_api_url": "https://pharmacy.example.com/api?key=1"}, "no user, password, query"),
        ({"pharmacy_api_url": URL, "pharmacy_api_secret": ""}, "needs pharmacy_api_secret"),
        ({"pharmacy_api_url": URL, "pharmacy_api_secret": "has spaces"}, "must be the name of a Secrets Manager"),
        ({"pharmacy_api_url": URL, "pharmacy_api_secret": "arn:aws:s3:::bucket"}, "or its ARN"),
        ({"pharmacy_api_url": URL, "pharmacy_api_steps": "prescriptions,billing"}, "must list some of"),
        ({"pharmacy_api_url": URL, "pharmacy_api_steps": ","}, "must list some of"),
        ({"pharmacy_api_secret": SECRET}, "apply only with pharmacy_api_url"),
        ({"pharmacy_api_steps": "inventory"}, "apply only with pharmacy_api_url"),
        ({"pharmacy_api_secret_key": KEY_ARN}, "apply only with pharmacy_api_url"),
        ({"pharmacy_api_url": URL, "pharmacy_api_secret_key": "alias/pharmacy"}, "ARN of the customer managed KMS"),
        (
            {"pharmacy_api_url": URL, "pharmacy_api_secret_key": "arn:aws:kms:eu-west-1:111122223333:alias/pharmacy"},
            "not an alias",
        ),
    ],
)
def test_a_wrong_value_is_refused_at_synthesis_with_what_to_write(context: dict[str, str], says: str) -> None:
    context = {"pharmacy_api_secret": SECRET, **context} if "pharmacy_api_url" in context else context
    with pytest.raises(PharmacyConfigurationError, match=says):
        build_app(cdk.App(context=context))


def test_a_refusal_does_not_repeat_the_value_given() -> None:
    # The URL may carry a credential someone pasted by mistake: the message must not print it.
    with pytest.raises(PharmacyConfigurationError) as refused:
        _parse(pharmacy_api_url="https://user:s3cr3t@pharmacy.example.com", pharmacy_api_secret=SECRET)
    assert "s3cr3t" not in str(refused.value)


# --- the synthesized template ----------------------------------------------------------------


@pytest.fixture(scope="module")
def default(deployable_assembly: CloudAssembly) -> Template:
    return deployable_assembly.template


@pytest.fixture(scope="module")
def mixed(mixed_pharmacy_assembly: CloudAssembly) -> Template:
    """Prescriptions and shipments at the pharmacy, inventory on the built-in tables (issue 24's mixed case)."""
    return mixed_pharmacy_assembly.template


@pytest.fixture(scope="module")
def configured(configured_assembly: CloudAssembly) -> Template:
    """Inventory at the pharmacy, its secret given by ARN under a customer managed key (tests/infra/stacks.py)."""
    return configured_assembly.template


def _secret_grants(template: Template, handler: str) -> list[tuple[str, Any]]:
    return [
        (action, target) for action, target in permissions(template, handler) if action.startswith("secretsmanager:")
    ]


def test_the_default_template_has_no_pharmacy_api_anywhere(default: Template) -> None:
    template = default
    for handler in HANDLERS:
        assert _secret_grants(template, handler) == [], handler
        assert not [v for v in function_environment(template, handler) if v.startswith("PHARMACY_API")], handler


def test_only_the_configured_steps_and_their_compensations_call_the_pharmacy(mixed: Template) -> None:
    template = mixed
    calling = PRESCRIPTION_FUNCTIONS | SHIPMENT_FUNCTIONS
    for handler in HANDLERS:
        environment = function_environment(template, handler)
        grants = _secret_grants(template, handler)
        if handler in calling:
            assert environment["PHARMACY_API_URL"] == URL, handler
            assert environment["PHARMACY_API_SECRET"] == SECRET, handler
            assert grants == [("secretsmanager:GetSecretValue", NAMED_SECRET_RESOURCE)], handler
        else:
            assert "PHARMACY_API_URL" not in environment, handler
            assert "PHARMACY_API_SECRET" not in environment, handler
            assert grants == [], handler


def test_a_step_at_the_pharmacy_no_longer_reaches_its_table_and_the_others_keep_theirs(
    mixed: Template, default: Template
) -> None:
    template = mixed
    business = {"PRESCRIPTIONS_TABLE", "SHIPMENTS_TABLE", "INVENTORY_TABLE", "RESERVATIONS_TABLE"}
    for handler in PRESCRIPTION_FUNCTIONS | SHIPMENT_FUNCTIONS:
        assert business & set(function_environment(template, handler)) == set(), handler
    for handler in INVENTORY_FUNCTIONS:
        assert {"INVENTORY_TABLE", "RESERVATIONS_TABLE"} <= set(function_environment(template, handler))
    # Over HTTP the pharmacy's catalogue decides (saga_steps.create_prescription reads the stack's only
    # when the prescriptions are on the tables): the function may not read a table it does not use.
    assert "CATALOGUE_TABLE" not in function_environment(template, "create_prescription")
    assert not [t for a, t in permissions(template, "create_prescription") if "Catalogue" in t]
    assert "CATALOGUE_TABLE" in function_environment(default, "create_prescription")


def test_the_configuration_changes_only_the_calling_functions_and_their_policies(
    mixed: Template, default: Template
) -> None:
    template = mixed
    default, mixed = default["Resources"], mixed["Resources"]
    # What operators watch is added too: the contract-error and gave-up alarms, the dashboard's widgets.
    alarms = {a for a in resources(template, "AWS::CloudWatch::Alarm") if a not in default}
    assert {mixed[a]["Properties"]["MetricName"] for a in alarms} == {"PharmacyContractErrors", "StepsGaveUp"}
    assert set(mixed) == set(default) | alarms
    [dashboard] = resources(template, "AWS::CloudWatch::Dashboard")
    calling = PRESCRIPTION_FUNCTIONS | SHIPMENT_FUNCTIONS
    functions = {function_id(template, handler) for handler in calling}
    roles = {mixed[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions}
    policies = {
        logical_id
        for logical_id, policy in resources(template, "AWS::IAM::ManagedPolicy").items()
        if {r["Ref"] for r in policy["Properties"].get("Roles", [])} & roles
    }
    changed = {logical_id for logical_id in default if default[logical_id] != mixed[logical_id]}
    assert changed == functions | policies | {dashboard}


def test_a_secret_given_by_arn_is_granted_by_that_arn_alone(configured: Template) -> None:
    template = configured
    for handler in INVENTORY_FUNCTIONS:
        assert _secret_grants(template, handler) == [("secretsmanager:GetSecretValue", SECRET_ARN)]
        assert function_environment(template, handler)["PHARMACY_API_SECRET"] == SECRET_ARN


def _decrypt_statements(template: Template, handler: str) -> list[dict[str, Any]]:
    function = template["Resources"][function_id(template, handler)]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in role_policies(template, role).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "kms:Decrypt" in str(statement["Action"]) and KEY_ARN in str(statement["Resource"])
    ]


def test_a_secret_under_a_customer_managed_key_may_be_decrypted_through_secrets_manager_only(
    configured: Template, mixed: Template
) -> None:
    # Secrets Manager decrypts a secret under a customer managed key with the caller's kms:Decrypt; the
    # grant is bound to Secrets Manager (kms:ViaService) and to this secret (its encryption context's
    # SecretARN), as AWS's own AWSSecretsManagerClientReadOnlyAccess policy binds it.
    template = configured
    for handler in INVENTORY_FUNCTIONS:
        [statement] = _decrypt_statements(template, handler)
        assert statement["Action"] == "kms:Decrypt"
        assert statement["Resource"] == KEY_ARN
        assert statement["Condition"]["StringLike"] == {"kms:EncryptionContext:SecretARN": SECRET_ARN}
        assert flatten(statement["Condition"]["StringEquals"]["kms:ViaService"]) == (
            "secretsmanager.${AWS::Region}.amazonaws.com"
        )
    for handler in set(HANDLERS) - INVENTORY_FUNCTIONS:
        assert _decrypt_statements(template, handler) == [], handler
    assert all(_decrypt_statements(mixed, handler) == [] for handler in HANDLERS), "no key: no grant"


# --- what operators watch -----------------------------------------------------------------------

# The operationIds issue 24 fixes for docs/pharmacy-api.yaml, by the system that serves them.
PRESCRIPTION_OPERATIONS = {"createPrescription", "cancelPrescription"}
INVENTORY_OPERATIONS = {"reserveInventory", "releaseInventory"}
SHIPMENT_OPERATIONS = {"createShipment", "cancelShipment"}


def _dashboard(template: Template) -> str:
    [dashboard] = resources(template, "AWS::CloudWatch::Dashboard").values()
    return flatten(dashboard["Properties"]["DashboardBody"])


def _contract_alarms(template: Template) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "PharmacyContractErrors"
    ]


def test_the_dashboard_shows_the_pharmacy_errors_of_the_configured_operations_only(
    mixed: Template, default: Template
) -> None:
    shown, default_shown = _dashboard(mixed), _dashboard(default)
    for operation in PRESCRIPTION_OPERATIONS | SHIPMENT_OPERATIONS:
        for status_class in ("4xx", "5xx", "no answer"):
            assert f'"{operation} {status_class}"' in shown, (operation, status_class)
    for operation in INVENTORY_OPERATIONS | PRESCRIPTION_OPERATIONS | SHIPMENT_OPERATIONS:
        assert operation not in default_shown
    for operation in INVENTORY_OPERATIONS:
        assert operation not in shown, "inventory keeps the built-in tables"
    assert "PharmacyContractErrors" in shown


def test_contract_errors_page_someone_only_when_a_step_calls_the_pharmacy(mixed: Template, default: Template) -> None:
    [alarm] = _contract_alarms(mixed)
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"], "it notifies the alarm topic"
    assert "pharmacy_api_url" in alarm["AlarmDescription"]
    assert _contract_alarms(default) == []
