"""Pharmacist verification as synthesized: the context it is switched on by, the waiting step, the
deadline, where the token is kept and who may answer (issue 25; expected values from the issue and
the Step Functions developer guide, "Wait for a Callback with Task Token")."""

from __future__ import annotations

from typing import Any

import pytest

from harness.assembly import synthesize
from infra.verification import VerificationConfigurationError, pharmacist_verification
from localcloud.deploy import CloudAssembly
from tests.infra.template import resources, state_machine_definition

PRODUCER = "arn:aws:iam::444455556666:role/pharmacists"


@pytest.fixture(scope="module")
def verifying() -> dict[str, Any]:
    assembly = synthesize(
        "Verifying",
        fault_injection=False,
        context={
            "prescription_verification": "pharmacist",
            "verification_deadline_minutes": "90",
            "verification_producers": PRODUCER,
        },
    )
    return assembly.template


def _saga_machine(template: dict[str, Any]) -> dict[str, Any]:
    [(_, machine)] = [
        (logical_id, r)
        for logical_id, r in resources(template, "AWS::StepFunctions::StateMachine").items()
        if logical_id.startswith("SagaStateMachine")
    ]
    return machine


@pytest.mark.parametrize(
    ("context", "deadline_minutes"),
    [({}, None), ({"prescription_verification": "none"}, None), ({"prescription_verification": "pharmacist"}, 1440)],
)
def test_verification_is_off_unless_asked_for_and_waits_a_day_by_default(
    context: dict[str, str], deadline_minutes: int | None
) -> None:
    found = pharmacist_verification(context.get)
    assert (found and found.deadline.to_minutes()) == deadline_minutes


@pytest.mark.parametrize(
    "context",
    [
        {"prescription_verification": "pharmacists"},
        {"prescription_verification": "pharmacist", "verification_deadline_minutes": "0"},
        {"prescription_verification": "pharmacist", "verification_deadline_minutes": "1.5"},
        {"prescription_verification": "pharmacist", "verification_deadline_minutes": str(366 * 24 * 60)},
        {"verification_deadline_minutes": "60"},  # a deadline for no verification is a mistake
    ],
)
def test_a_configuration_the_stack_cannot_use_is_refused_at_synthesis(context: dict[str, str]) -> None:
    with pytest.raises(VerificationConfigurationError):
        pharmacist_verification(context.get)


def test_the_prescription_waits_for_a_pharmacist_with_the_deadline(verifying: dict[str, Any]) -> None:
    states = state_machine_definition(verifying, "SagaStateMachine")["States"]
    assert states["Create Prescription"]["Next"] == "Verify Prescription"
    verify = states["Verify Prescription"]
    assert verify["Next"] == "Reserve Inventory"
    assert verify["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert verify["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert verify["TimeoutSeconds"] == 90 * 60
    assert "HeartbeatSeconds" not in verify  # a pharmacist sends no heartbeats
    caught = {error: clause["Next"] for clause in verify["Catch"] for error in clause["ErrorEquals"]}
    # A rejection, no answer (States.Timeout) and anything else undo the prescription that was made.
    assert caught == {
        "PharmacistRejected": "Cancel Prescription",
        "States.Timeout": "Cancel Prescription",
        "States.HeartbeatTimeout": "Cancel Prescription",
        "States.ALL": "Cancel Prescription",
    }
    retried = {error for rule in verify["Retry"] for error in rule["ErrorEquals"]}
    assert not retried & {"States.Timeout", "States.HeartbeatTimeout", "States.ALL"}, "a deadline is not retried"


def test_the_execution_lives_longer_than_the_wait(verifying: dict[str, Any]) -> None:
    definition = state_machine_definition(verifying, "SagaStateMachine")
    assert definition["TimeoutSeconds"] == 15 * 60 + 90 * 60


def test_tokens_are_kept_in_an_encrypted_table_that_forgets_them(verifying: dict[str, Any]) -> None:
    [table] = [
        r
        for logical_id, r in resources(verifying, "AWS::DynamoDB::Table").items()
        if logical_id.startswith("VerificationTokens")
    ]
    properties = table["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]


def test_the_verification_producers_may_put_answers_only(verifying: dict[str, Any]) -> None:
    found = [
        policy["Properties"]["Statement"]
        for policy in resources(verifying, "AWS::Events::EventBusPolicy").values()
        if str(policy["Properties"]["Statement"].get("Sid", "")).endswith("VerificationProducers")
    ]
    [statement] = found
    assert statement["Principal"] == {"AWS": PRODUCER}
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {
            "events:source": "pharmacy.prescriptions",
            "events:detail-type": ["PrescriptionVerified", "PrescriptionRejected"],
        }
    }


def test_without_verification_the_saga_does_not_wait_and_keeps_no_token(assembly: CloudAssembly) -> None:
    template = assembly.template
    states = state_machine_definition(template, "SagaStateMachine")["States"]
    assert "Verify Prescription" not in states
    assert not [t for t in resources(template, "AWS::DynamoDB::Table") if t.startswith("VerificationTokens")]
