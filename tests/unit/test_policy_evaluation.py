"""AWS's policy evaluation, as the local cloud applies it; each expectation from the IAM User Guide.

"Policy evaluation logic" (explicit deny wins; within one account an Allow in the identity
policy or in the resource policy is enough; across accounts both are needed) and "Condition
operators" (a missing key makes a positive operator false and a negated one true; ...IfExists
makes it true). What the local cloud does not evaluate fails closed.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.access import actions, policies
from localcloud.access.actions import Arns
from localcloud.access.policies import Request
from localcloud.access.principals import Principal

ACCOUNT = "123456789012"
ROLE = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/worker", session="fn")
OTHER_ROLE = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/other", session="fn")
FOREIGN_ROLE = Principal.role("arn:aws:iam::999999999999:role/partner", session="s")
EVENTS = Principal.aws_service("events.amazonaws.com")
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:start"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/OrderCreated"


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    principal: Principal,
    action: str,
    resource: str,
    identity: list[dict[str, Any]] | None = None,
    resource_policy: list[dict[str, Any]] | None = None,
    **context: Any,
) -> policies.Decision:
    request = Request(
        principal, action, resource, {k.replace("_", ":", 1).replace("_", "-"): v for k, v in context.items()}
    )
    return policies.evaluate(request, identity or [], resource_policy or [], resource.split(":")[4] or None)


# --- identity policies ----------------------------------------------------------------


def test_an_action_no_statement_allows_is_implicitly_denied_in_awss_words() -> None:
    decision = decide(ROLE, "dynamodb:PutItem", TABLE, [allow("dynamodb:UpdateItem", TABLE)])
    assert not decision.allowed
    assert decision.reason == "because no identity-based policy allows the dynamodb:PutItem action"


def test_an_allowed_action_on_another_resource_is_denied() -> None:
    other = TABLE.replace("orders", "prescriptions")
    assert not decide(ROLE, "dynamodb:PutItem", other, [allow("dynamodb:PutItem", TABLE)]).allowed


def test_wildcards_match_actions_and_resources() -> None:
    identity = [allow("dynamodb:*", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ord*")]
    assert decide(ROLE, "dynamodb:PutItem", TABLE, identity).allowed
    assert decide(ROLE, "dynamodb:Query", f"{TABLE}/index/by-state", identity).allowed
    assert not decide(ROLE, "sqs:SendMessage", TABLE, identity).allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    identity = [allow("dynamodb:*", "*"), deny("dynamodb:DeleteItem", TABLE)]
    decision = decide(ROLE, "dynamodb:DeleteItem", TABLE, identity)
    assert not decision.allowed
    assert decision.reason == "with an explicit deny in an identity-based policy"
    assert decide(ROLE, "dynamodb:PutItem", TABLE, identity).allowed


def test_the_accounts_own_credentials_are_allowed_unless_a_resource_policy_denies() -> None:
    root = Principal.account_root(ACCOUNT)
    assert decide(root, "dynamodb:DeleteTable", TABLE).allowed
    assert not decide(root, "sqs:SendMessage", QUEUE, resource_policy=[deny("sqs:*", QUEUE, Principal="*")]).allowed


# --- resource policies ----------------------------------------------------------------


def test_an_aws_service_is_allowed_only_by_the_resource_policy() -> None:
    granted = allow(
        "sqs:SendMessage",
        QUEUE,
        Principal={"Service": "events.amazonaws.com"},
        Condition={"ArnEquals": {"aws:SourceArn": RULE}},
    )
    assert decide(EVENTS, "sqs:SendMessage", QUEUE, resource_policy=[granted], aws_SourceArn=RULE).allowed
    other_rule = RULE.replace("OrderCreated", "SomeoneElses")
    refused = decide(EVENTS, "sqs:SendMessage", QUEUE, resource_policy=[granted], aws_SourceArn=other_rule)
    assert not refused.allowed
    assert refused.reason == "because no resource-based policy allows the sqs:SendMessage action"
    assert not decide(EVENTS, "sqs:SendMessage", QUEUE).allowed, "no resource policy, no access"


def test_within_one_account_a_resource_policy_naming_the_role_is_enough() -> None:
    named = allow("events:PutEvents", "*", Principal={"AWS": ROLE.arn})
    assert decide(
        ROLE, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/b", resource_policy=[named]
    ).allowed
    assert not decide(
        OTHER_ROLE, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/b", resource_policy=[named]
    ).allowed


def test_a_resource_policy_naming_only_the_account_delegates_to_the_identity_policies() -> None:
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/b"
    account = allow("events:PutEvents", bus, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    assert not decide(ROLE, "events:PutEvents", bus, resource_policy=[account]).allowed
    assert decide(ROLE, "events:PutEvents", bus, [allow("events:PutEvents", bus)], [account]).allowed


def test_another_accounts_role_needs_both_its_identity_policy_and_the_resource_policy() -> None:
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"
    grant = allow("events:PutEvents", bus, Principal={"AWS": "999999999999"})
    assert decide(FOREIGN_ROLE, "events:PutEvents", bus, [allow("events:PutEvents", "*")], [grant]).allowed
    assert not decide(FOREIGN_ROLE, "events:PutEvents", bus, [allow("events:PutEvents", "*")], []).allowed
    assert not decide(FOREIGN_ROLE, "events:PutEvents", bus, [], [grant]).allowed


def test_a_deny_for_everyone_but_one_role_stops_the_others_even_the_account() -> None:
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/domain"
    only_worker = deny(
        "events:PutEvents", bus, Principal="*", Condition={"ArnNotEquals": {"aws:PrincipalArn": ROLE.arn}}
    )
    everything = [allow("events:*", "*")]
    assert decide(ROLE, "events:PutEvents", bus, everything, [only_worker], aws_PrincipalArn=ROLE.arn).allowed
    assert not decide(
        OTHER_ROLE, "events:PutEvents", bus, everything, [only_worker], aws_PrincipalArn=OTHER_ROLE.arn
    ).allowed
    root = Principal.account_root(ACCOUNT)
    assert not decide(root, "events:PutEvents", bus, [], [only_worker], aws_PrincipalArn=root.arn).allowed


# --- conditions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "present", "expected"),
    [
        ("StringEquals", False, False),
        ("StringNotEquals", False, True),
        ("ArnLike", False, False),
        ("ArnNotLike", False, True),
        ("StringEqualsIfExists", False, True),
        ("StringEquals", True, True),
        ("StringNotEquals", True, False),
    ],
)
def test_a_key_missing_from_the_request_makes_positive_operators_false_and_negated_ones_true(
    operator: str, present: bool, expected: bool
) -> None:
    value = RULE if "Arn" in operator else "pharmacy.orders"
    statement = allow("sqs:SendMessage", QUEUE, Principal="*", Condition={operator: {"aws:SourceArn": value}})
    context: dict[str, Any] = {"aws_SourceArn": value} if present else {}
    assert decide(EVENTS, "sqs:SendMessage", QUEUE, resource_policy=[statement], **context).allowed is expected


def test_arn_operators_match_each_part_with_wildcards() -> None:
    statement = allow(
        "sns:Publish",
        "*",
        Principal={"Service": "cloudwatch.amazonaws.com"},
        Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"}},
    )
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
    cloudwatch = Principal.aws_service("cloudwatch.amazonaws.com")
    mine = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:CompensationFailed"
    theirs = "arn:aws:cloudwatch:us-east-1:999999999999:alarm:CompensationFailed"
    assert decide(cloudwatch, "sns:Publish", topic, resource_policy=[statement], aws_SourceArn=mine).allowed
    assert not decide(cloudwatch, "sns:Publish", topic, resource_policy=[statement], aws_SourceArn=theirs).allowed


def test_the_secure_transport_deny_stops_plain_http_only() -> None:
    no_plain_http = deny("sqs:*", QUEUE, Principal={"AWS": "*"}, Condition={"Bool": {"aws:SecureTransport": "false"}})
    root = Principal.account_root(ACCOUNT)
    assert decide(root, "sqs:SendMessage", QUEUE, resource_policy=[no_plain_http], aws_SecureTransport=True).allowed
    assert not decide(
        root, "sqs:SendMessage", QUEUE, resource_policy=[no_plain_http], aws_SecureTransport=False
    ).allowed


def test_what_is_not_evaluated_fails_closed_an_allow_grants_nothing_a_deny_denies() -> None:
    unknown = {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}
    assert not decide(ROLE, "dynamodb:PutItem", TABLE, [allow("dynamodb:PutItem", TABLE, Condition=unknown)]).allowed
    identity = [allow("dynamodb:PutItem", TABLE), deny("dynamodb:PutItem", TABLE, Condition=unknown)]
    assert not decide(ROLE, "dynamodb:PutItem", TABLE, identity).allowed
    not_resource = [{"Effect": "Allow", "Action": "dynamodb:PutItem", "NotResource": "arn:aws:dynamodb:*:*:table/x"}]
    assert not decide(ROLE, "dynamodb:PutItem", TABLE, not_resource).allowed


# --- which actions and resources a call is checked on -----------------------------------

ARNS = Arns(ACCOUNT, "us-east-1")


def test_a_transaction_is_checked_item_by_item_as_the_single_item_actions() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "reservations", "Item": {}}},
            {"ConditionCheck": {"TableName": "events", "Key": {}}},
            {"Update": {"TableName": "inventory", "Key": {}}},
            {"Delete": {"TableName": "inventory", "Key": {}}},
        ]
    }
    assert [
        (c.action, c.resource.rsplit("/", 1)[1]) for c in actions.checks("dynamodb", "TransactWriteItems", params, ARNS)
    ] == [
        ("dynamodb:PutItem", "reservations"),
        ("dynamodb:ConditionCheckItem", "events"),
        ("dynamodb:UpdateItem", "inventory"),
        ("dynamodb:DeleteItem", "inventory"),
    ]
    gets = actions.checks("dynamodb", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "a"}}]}, ARNS)
    assert [c.action for c in gets] == ["dynamodb:GetItem"]


def test_batches_are_checked_on_every_table_and_an_index_query_on_the_index() -> None:
    batch = actions.checks("dynamodb", "BatchGetItem", {"RequestItems": {"a": {}, "b": {}}}, ARNS)
    assert [(c.action, c.resource) for c in batch] == [
        ("dynamodb:BatchGetItem", ARNS.table("a")),
        ("dynamodb:BatchGetItem", ARNS.table("b")),
    ]
    [query] = actions.checks("dynamodb", "Query", {"TableName": "sagas", "IndexName": "by-state"}, ARNS)
    assert query.resource == f"{ARNS.table('sagas')}/index/by-state"


def test_list_streams_is_checked_on_star_as_it_has_no_resource_level_permissions() -> None:
    [check] = actions.checks("dynamodbstreams", "ListStreams", {"TableName": "events"}, ARNS)
    assert (check.action, check.resource) == ("dynamodb:ListStreams", "*")


def test_sqs_batches_lambda_invoke_and_put_events_are_checked_as_aws_names_them() -> None:
    url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/start"
    [send] = actions.checks("sqs", "SendMessageBatch", {"QueueUrl": url}, ARNS)
    assert (send.action, send.resource) == ("sqs:SendMessage", QUEUE)
    [invoke] = actions.checks("awslambda", "Invoke", {}, ARNS, "/2015-03-31/functions/fn/invocations")
    assert (invoke.action, invoke.resource) == (
        "lambda:InvokeFunction",
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn",
    )
    entries = [
        {"EventBusName": "orders", "Source": "pharmacy.orders", "DetailType": "OrderCreated"},
        {"Source": "x", "DetailType": "y"},
    ]
    puts = actions.checks("events", "PutEvents", {"Entries": entries}, ARNS)
    assert [p.resource.rsplit("/", 1)[1] for p in puts] == ["orders", "default"]
    assert puts[0].context == {"events:source": "pharmacy.orders", "events:detail-type": "OrderCreated"}


def test_a_condition_on_a_key_the_local_cloud_does_not_set_fails_closed() -> None:
    # aws:RequestedRegion is on every AWS request; locally it is not set, so neither outcome is known
    region = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    assert not decide(ROLE, "dynamodb:PutItem", TABLE, [allow("dynamodb:PutItem", TABLE, Condition=region)]).allowed
    outside = {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}
    denied = decide(
        ROLE, "dynamodb:PutItem", TABLE, [allow("dynamodb:PutItem", TABLE), deny("dynamodb:*", "*", Condition=outside)]
    )
    assert not denied.allowed, "a Deny the local cloud cannot decide applies"


def test_wildcards_are_iams_not_regular_expressions_and_actions_ignore_case() -> None:
    grant = [allow("SQS:sendmessage", "arn:aws:sqs:us-east-1:123456789012:orders.fifo")]
    assert decide(ROLE, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:orders.fifo", grant).allowed
    assert not decide(ROLE, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:ordersXfifo", grant).allowed
    one_character = [allow("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:queue-?")]
    assert decide(ROLE, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:queue-1", one_character).allowed
    assert not decide(ROLE, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:queue-", one_character).allowed
    assert not decide(ROLE, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:queue-12", one_character).allowed


ASSUMED = f"arn:aws:iam::{ACCOUNT}:role/api"


def _assume(principal: Principal, trusted: Any, identity: list[dict[str, Any]] | None = None) -> bool:
    trust = [{"Effect": "Allow", "Principal": trusted, "Action": "sts:AssumeRole"}]
    request = Request(principal, "sts:AssumeRole", ASSUMED, {})
    return policies.evaluate(request, identity or [], trust, ACCOUNT, trust=True).allowed


def test_a_role_is_assumed_only_by_whom_its_trust_policy_names() -> None:
    root = Principal.account_root(ACCOUNT)
    assert not _assume(root, {"Service": "lambda.amazonaws.com"}), "even the account, if the role does not trust it"
    assert _assume(root, {"AWS": ACCOUNT})
    # a role the trust policy names needs no permission of its own; one only its account is named for does
    assert _assume(ROLE, {"AWS": ROLE.arn})
    assert not _assume(ROLE, {"AWS": ACCOUNT})
    assert _assume(ROLE, {"AWS": ACCOUNT}, [allow("sts:AssumeRole", ASSUMED)])


def test_another_accounts_role_needs_its_own_permission_to_assume_a_role_that_trusts_it() -> None:
    # IAM User Guide: across accounts both the trust policy and the caller's identity policy must allow
    assert not _assume(FOREIGN_ROLE, {"AWS": FOREIGN_ROLE.arn})
    assert not _assume(FOREIGN_ROLE, {"AWS": "999999999999"})
    assert _assume(FOREIGN_ROLE, {"AWS": FOREIGN_ROLE.arn}, [allow("sts:AssumeRole", ASSUMED)])


def test_an_eventbridge_condition_key_outside_put_events_fails_closed() -> None:
    # events:source is on PutEvents' entries only: a Deny on it elsewhere cannot be decided locally
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    identity = [
        allow("events:*", "*"),
        deny("events:PutRule", "*", Condition={"StringEquals": {"events:source": "pharmacy.orders"}}),
    ]
    assert not decide(ROLE, "events:PutRule", rule, identity).allowed
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/b"
    only_orders = [allow("events:PutEvents", bus, Condition={"StringEquals": {"events:source": "pharmacy.orders"}})]
    assert decide(ROLE, "events:PutEvents", bus, only_orders, events_source="pharmacy.orders").allowed
    assert not decide(ROLE, "events:PutEvents", bus, only_orders, events_source="pharmacy.saga").allowed
