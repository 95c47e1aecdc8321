"""A saga whose shipment meets a reused Idempotency-Key leaves nothing created at the pharmacy (issue 24's review).

The pharmacy already holds the shipment created under the saga's key with another body (the first
request of a saga in flight across a deploy that changed the body, its 201 lost on the way back).
The saga's create then gets `422` with `code: idempotency_key_reused` (docs/pharmacy-api.yaml): a
contract error, so the state machine's crash path undoes the shipment step too, not only the steps
before it as after a refusal. What was done is read from the reference pharmacy's own records.
"""

from __future__ import annotations

from collections.abc import Callable

from harness import queries
from harness.pharmacy_api import deployed_over_http
from lambdas.domain.states import SagaState
from pharmacy_reference.bodies import ShipmentBody
from pharmacy_reference.service import OPERATIONS, Pharmacy
from tests.e2e.helpers import US_ADDRESS, view

PATIENT = "patient-456"


def test_a_shipment_whose_key_came_with_another_body_is_cancelled_and_the_saga_fails(
    unique: Callable[[str], str],
) -> None:
    order_id = unique("reused-key")
    shipment_id = f"shp-{order_id}"
    # Given the pharmacy created the shipment under the saga's own key (`<operationId>:<resource id>`,
    # docs/pharmacy-api.yaml) from a body the saga no longer sends: an older deploy's, with no address
    pharmacy = Pharmacy()
    first = pharmacy.handle(
        OPERATIONS["createShipment"],
        shipment_id,
        f"createShipment:{shipment_id}",
        ShipmentBody(order_id=order_id, patient_id=PATIENT),
    )
    assert first.answer.status == 201
    with deployed_over_http(pharmacy=pharmacy) as (cloud, served):
        # When the order arrives and its saga reaches the shipment with today's body (the address)
        cloud.put_order(
            {"order_id": order_id, "patient_id": PATIENT, "medications": ["med-1"], "shipping_address": US_ADDRESS}
        )
        assert cloud.wait_for_sagas([order_id])[order_id] == "FAILED"
        cloud.local.wait_until_idle()

        # Then the saga undid every step, the shipment included: nothing is left created at the pharmacy ...
        statuses = {r.kind.name: r.status for r in served.pharmacy.records() if r.record_id.endswith(order_id)}
        assert statuses == {"PRESCRIPTION": "CANCELLED", "RESERVATION": "RELEASED", "SHIPMENT": "CANCELLED"}
        # ... because the pharmacy's 422 to its create was a contract error (not retried), not a refusal
        found = queries.status(cloud, order_id)
        assert found.path is not None
        shipment = found.path.runs["Initiate Shipment"]
        assert [(call.operation, call.status) for call in shipment.calls] == [("createShipment", 422)]
        assert shipment.error == "PharmacyContractError"
        saga = view(cloud, order_id)
        assert saga.state is SagaState.FAILED
        assert saga.compensations_run == ("cancel_shipment", "release_inventory", "cancel_prescription", "cancel_order")
        # The only function error is that contract error (counted and alarmed apart: lambdas/handlers/task.py).
        assert {error[1] for error in cloud.unexpected_errors()} == {"PharmacyContractError"}
