"""The stack synthesized with the pharmacy API configured, against the reference pharmacy (issue 24's
"Done when", in-process): the seed's example completes, each refusal compensates exactly the done
steps, a 503 twice before the answer is one saga with one Idempotency-Key, and a step whose role
may not read the secret fails as on AWS."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import queries
from harness.assembly import synthesize
from harness.inprocess import InProcess, deployed
from infra import names
from lambdas.domain.rules import CatalogueEntry
from lambdas.domain.states import SagaState
from localcloud.deploy import CloudAssembly
from pharmacy_reference.catalogue import CATALOGUE
from pharmacy_reference.faults import Faults
from pharmacy_reference.server import Served, serve
from pharmacy_reference.service import Pharmacy
from saga_cli import render, render_sagas
from tests.e2e.helpers import US_ADDRESS, edited_assembly, published, view

TOKEN = "e2e-pharmacy-token"
SECRET = "pharmacy/e2e-api-token"
SERVICE = {("service", "order-fulfillment")}
"""The dimension every metric of the functions carries (Powertools' service)."""
UNKNOWN_TO_THE_PHARMACY = "med-4"
"""In the saga's catalogue (harness/seed.py) but not in this pharmacy's: only the pharmacy refuses it."""


@pytest.fixture(scope="module")
def reference() -> Iterator[Served]:
    catalogue: dict[str, CatalogueEntry] = {k: v for k, v in CATALOGUE.items() if k != UNKNOWN_TO_THE_PHARMACY}
    served = serve(TOKEN, pharmacy=Pharmacy(catalogue_entries=catalogue))
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def assembly(reference: Served) -> CloudAssembly:
    """Overrides the session's: every step over HTTP, at the reference pharmacy, the token in SECRET."""
    return synthesize(context={"pharmacy_api_url": reference.url, "pharmacy_api_secret": SECRET})


@pytest.fixture
def secret(cloud: InProcess, reference: Served) -> None:
    """The team's secret, created through the local Secrets Manager API (the stack does not create it)."""
    cloud.client("secretsmanager").create_secret(Name=SECRET, SecretString=TOKEN)
    reference.plan.change(Faults())


def _records(reference: Served, order_id: str) -> dict[str, str]:
    """kind -> status of the pharmacy's own records of one order."""
    return {r.kind.name: r.status for r in reference.pharmacy.records() if r.record_id.endswith(order_id)}


def _ordered(cloud: InProcess, order_id: str, **detail: Any) -> str:
    cloud.put_order({"order_id": order_id, "patient_id": "patient-456", "medications": ["med-1", "med-2"], **detail})
    return cloud.wait_for_sagas([order_id])[order_id]


def test_the_seed_example_completes_at_the_pharmacy(
    cloud: InProcess, reference: Served, secret: None, unique: Callable[[str], str]
) -> None:
    order_id = unique("order-123")
    assert _ordered(cloud, order_id) == "COMPLETED"
    assert _records(reference, order_id) == {
        "PRESCRIPTION": "ACTIVE",
        "RESERVATION": "RESERVED",
        "SHIPMENT": "INITIATED",
    }
    saga = view(cloud, order_id)
    assert saga.steps_completed == ("create_prescription", "reserve_inventory", "initiate_shipment")
    assert saga.compensations_run == ()
    # The call is logged as the handlers log (Powertools' JSON, with the invocation's correlation id),
    # naming the operation, the host and the status: never the body.
    host = reference.url.removeprefix("http://")
    lines = [json.loads(line) for line in cloud.function_logs("create_prescription") if line.startswith("{")]
    [said] = [line for line in lines if line["message"].startswith(f"createPrescription at {host}: HTTP 201")]
    assert said["correlation_id"] == order_id
    assert said["level"] == "INFO"


def test_a_medication_the_pharmacy_does_not_know_fails_with_nothing_to_undo(
    cloud: InProcess, reference: Served, secret: None, unique: Callable[[str], str]
) -> None:
    order_id = unique("unknown-med")
    assert _ordered(cloud, order_id, medications=[UNKNOWN_TO_THE_PHARMACY]) == "FAILED"
    assert _records(reference, order_id) == {}
    saga = view(cloud, order_id)
    assert saga.state is SagaState.FAILED
    assert saga.steps_completed == ()
    # As on the built-in tables (test_saga_flows): the done steps undone in reverse, then the order cancelled.
    assert saga.compensations_run == ("cancel_order",)


def test_no_stock_at_the_pharmacy_undoes_the_prescription_only(
    cloud: InProcess, reference: Served, secret: None, unique: Callable[[str], str]
) -> None:
    order_id = unique("no-stock")
    assert _ordered(cloud, order_id, medications=["med-scarce"]) == "FAILED"
    # The refused reservation left nothing reserved; the prescription made before it is cancelled.
    assert _records(reference, order_id) == {"PRESCRIPTION": "CANCELLED"}
    saga = view(cloud, order_id)
    assert saga.steps_completed == ("create_prescription",)
    assert saga.compensations_run == ("cancel_prescription", "cancel_order")
    # The pharmacy's reason is the saga's, never the execution history's (untrusted text from outside)
    assert saga.failure_reason
    execution = queries.status(cloud, order_id).execution
    assert execution is not None
    history = json.dumps(queries.execution_history(cloud, execution["executionArn"]), default=str)
    assert "ReserveInventory" in history or "reserve" in history.lower()
    assert saga.failure_reason not in history
    # Nor the bus's: the domain events carry ids and outcomes; a consumer learns the step was refused
    # by the system it called (reason_from_outside), not what that system said.
    cloud.local.wait_until_idle()
    mine = [p["detail"] for p in published(cloud) if p["detail"]["stream_id"].endswith(order_id)]
    outside = {d["type"] for d in mine if d["payload"].get("reason_from_outside")}
    assert {"order.inventory_reservation_failed", "order.cancelled", "order_fulfillment_saga.failed"} <= outside
    assert saga.failure_reason not in json.dumps(mine)


def test_an_undeliverable_address_undoes_the_prescription_and_the_reservation(
    cloud: InProcess, reference: Served, secret: None, unique: Callable[[str], str]
) -> None:
    order_id = unique("undeliverable")
    address = {**US_ADDRESS, "country": "ZZ"}
    assert _ordered(cloud, order_id, shipping_address=address) == "FAILED"
    assert _records(reference, order_id) == {"PRESCRIPTION": "CANCELLED", "RESERVATION": "RELEASED"}
    saga = view(cloud, order_id)
    assert saga.steps_completed == ("create_prescription", "reserve_inventory")
    assert saga.compensations_run == ("release_inventory", "cancel_prescription", "cancel_order")


def test_a_pharmacy_answering_503_twice_sees_one_key_three_times_and_one_saga_completes(
    cloud: InProcess, reference: Served, secret: None, unique: Callable[[str], str]
) -> None:
    reference.plan.change(Faults(unavailable_first=2))
    order_id = unique("unavailable")
    assert _ordered(cloud, order_id) == "COMPLETED"
    arrived = [a for a in reference.pharmacy.arrivals() if a[0] == "createPrescription" and a[1].endswith(order_id)]
    assert len(arrived) == 3
    assert len({key for _, _, key in arrived}) == 1
    assert _records(reference, order_id)["PRESCRIPTION"] == "ACTIVE"

    # What an operator reads in `saga status`: each step's system and what each of its calls answered
    # (the knob's two 503s, then the contract's 201 for a create; a whole 200 once a key was served).
    found = queries.status(cloud, order_id)
    assert found.path is not None
    host = reference.url.removeprefix("http://")
    prescription = found.path.runs["Create Prescription"]
    assert (prescription.system, prescription.attempts) == (host, 3)
    assert [call.status for call in prescription.calls] == [503, 503, 201]
    assert {call.operation for call in prescription.calls} == {"createPrescription"}
    with render.console.capture() as shown:
        render_sagas.status(found)
    assert f"attempts 3  HTTP {host}: 503, 503, 201" in shown.get()
    assert f"HTTP {host}: 503, 503, 201" in shown.get().split("Reserve Inventory", 1)[1]
    states = {state["name"]: state for state in render_sagas.status_json(found)["states"]}
    assert states["Initiate Shipment"]["calls"] == [
        f"createShipment at {host}: HTTP 503",
        f"createShipment at {host}: HTTP 503",
        f"createShipment at {host}: HTTP 201",
    ]


def test_a_wrong_token_is_a_contract_error_not_retried_counted_apart_and_alarmed(
    assembly: CloudAssembly, reference: Served, unique: Callable[[str], str]
) -> None:
    reference.plan.change(Faults())
    with deployed(assembly) as cloud:
        cloud.client("secretsmanager").create_secret(Name=SECRET, SecretString="not-the-pharmacys-token")
        order_id = unique("wrong-token")
        cloud.put_order({"order_id": order_id, "patient_id": "patient-456", "medications": ["med-1"]})
        cloud.wait_for_sagas([order_id])
        cloud.local.wait_until_idle()

        # The pharmacy refused each request (401): nothing was created there.
        assert _records(reference, order_id) == {}
        found = queries.status(cloud, order_id)
        assert found.path is not None
        create = found.path.runs["Create Prescription"]
        assert create.attempts == 1, "a 401 is not retried as if the pharmacy were unavailable"
        assert create.error == "PharmacyContractError"
        assert [(c.operation, c.status) for c in create.calls] == [("createPrescription", 401)]

        # Counted apart, by operation and status class, and alarmed: the alarm watches the very
        # metric the functions emitted (as the local CloudWatch received it), not a name we wrote twice.
        cloudwatch = cloud.client("cloudwatch")
        emitted = {
            (m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in cloudwatch.list_metrics(Namespace="OrderFulfillment")["Metrics"]
        }
        by_class = {("operation", "createPrescription"), ("status_class", "4xx")}
        assert ("PharmacyApiErrors", frozenset({*SERVICE, *by_class})) in emitted
        alarmed = {
            (a["MetricName"], frozenset((d["Name"], d["Value"]) for d in a["Dimensions"]))
            for a in cloudwatch.describe_alarms()["MetricAlarms"]
            if a.get("MetricName") == "PharmacyContractErrors"
        }
        assert alarmed == {("PharmacyContractErrors", frozenset(SERVICE))}
        assert alarmed <= emitted, "the alarm watches a metric the functions emitted"


def test_a_pharmacy_that_stays_unavailable_is_retried_longer_then_given_up_counted_and_alarmed(
    cloud: InProcess, reference: Served, secret: None, unique: Callable[[str], str]
) -> None:
    # Retried as the deployed definition says for PharmacyUnavailable (its own Retry: an outage lasts
    # longer than a table's conflict)
    definition = json.loads(
        cloud.client("stepfunctions").describe_state_machine(stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE])[
            "definition"
        ]
    )
    [retry] = [
        r for r in definition["States"]["Create Prescription"]["Retry"] if "PharmacyUnavailable" in r["ErrorEquals"]
    ]
    assert retry["ErrorEquals"] == ["PharmacyUnavailable"]
    attempts = retry["MaxAttempts"] + 1
    # Each key answered 503 as many times as a step tries: the create gives up; its cancel, which tries
    # longer (the compensations' budget), gets through.
    reference.plan.change(Faults(unavailable_first=attempts))
    order_id = unique("outage")
    assert _ordered(cloud, order_id) == "FAILED"
    cloud.local.wait_until_idle()
    creates = [a for a in reference.pharmacy.arrivals() if a[0] == "createPrescription" and a[1].endswith(order_id)]
    assert len(creates) == attempts
    assert len({key for _, _, key in creates}) == 1
    assert view(cloud, order_id).compensations_run == ("cancel_prescription", "cancel_order")
    # Counted as a step that gave up on the pharmacy, and the alarm watches what was emitted
    cloudwatch = cloud.client("cloudwatch")
    gave_up = frozenset({*SERVICE, ("error", "PharmacyUnavailable")})
    emitted = {
        frozenset((d["Name"], d["Value"]) for d in m["Dimensions"])
        for m in cloudwatch.list_metrics(Namespace="OrderFulfillment", MetricName="StepsGaveUp")["Metrics"]
    }
    assert gave_up in emitted
    [alarm] = [a for a in cloudwatch.describe_alarms()["MetricAlarms"] if a.get("MetricName") == "StepsGaveUp"]
    assert frozenset((d["Name"], d["Value"]) for d in alarm["Dimensions"]) == gave_up
    assert alarm["Threshold"] == 1


def _without_secret_grant(template: dict[str, Any]) -> None:
    """The create_prescription role's policy loses its GetSecretValue statement."""
    functions = template["Resources"]
    [role] = [
        f["Properties"]["Role"]["Fn::GetAtt"][0]
        for f in functions.values()
        if f["Type"] == "AWS::Lambda::Function"
        and f["Properties"]["Handler"] == "lambdas.handlers.create_prescription.handler"
    ]
    for resource in functions.values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role} in resource["Properties"].get("Roles", []):
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = [s for s in document["Statement"] if "secretsmanager" not in str(s["Action"])]


def test_a_step_whose_role_may_not_read_the_secret_is_refused_as_on_aws(
    assembly: CloudAssembly, reference: Served, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    reference.plan.change(Faults())
    with deployed(edited_assembly(assembly, tmp_path / "assembly", _without_secret_grant)) as cloud:
        cloud.client("secretsmanager").create_secret(Name=SECRET, SecretString=TOKEN)
        order_id = unique("no-grant")
        assert _ordered(cloud, order_id) == "FAILED"
        refused = [r.message for r in cloud.local.refusals()]
        assert any("secretsmanager:GetSecretValue" in message for message in refused), refused
        # The create never left: the compensation (whose role may read it) cancelled first, a tombstone.
        operations = [op for op, resource, _ in reference.pharmacy.arrivals() if resource.endswith(order_id)]
        assert operations == ["cancelPrescription"]
        assert _records(reference, order_id) == {"PRESCRIPTION": "CANCELLED"}
