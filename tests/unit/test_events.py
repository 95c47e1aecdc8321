"""Every event model round-trips through the registry; old shapes upcast; private fields stay private."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from harness.parked import resumed_by
from lambdas.adapters.event_codec import from_item, to_item
from lambdas.domain import events as ev
from lambdas.domain.intake import kept_raw_message
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.states import Compensation, SagaState

ADDRESS = ShippingAddress(line1="1 Main St", city="Springfield", postal_code="12345", country="US")
LINES = [OrderLine(medication_id="med-1", quantity=2)]

EXAMPLES: list[ev.DomainEvent] = [
    ev.OrderFulfillmentSagaStarted(order_id="o", patient_id="patient-9", medications=LINES, shipping_address=ADDRESS),
    ev.OrderFulfillmentSagaStateChanged(order_id="o", from_state=None, to_state=SagaState.STARTED),
    ev.CompensationRecorded(order_id="o", compensation=Compensation.CANCEL_ORDER, had_effect=True),
    ev.OrderFulfillmentSagaFailed(order_id="o", failed_step="reserve_inventory", reason="line 1: not enough stock"),
    ev.OrderFulfillmentSagaCompleted(order_id="o"),
    ev.PrescriptionCreated(order_id="o", prescription_id="rx-o"),
    ev.PrescriptionRefused(order_id="o", reason="line 1: medication is not in the catalogue"),
    ev.InventoryReserved(order_id="o", reservation_id="res-o", medications=LINES),
    ev.InventoryReservationRefused(order_id="o", reason="line 1: not enough stock"),
    ev.ShipmentInitiated(order_id="o", shipment_id="shp-o", ships_to="order_address"),
    ev.ShipmentInitiationRefused(order_id="o", reason="shipping address: country is not serviced"),
    ev.PrescriptionCancelled(order_id="o", prescription_id="rx-o"),
    ev.InventoryReleased(order_id="o", reservation_id="res-o"),
    ev.ShipmentCancelled(order_id="o", shipment_id="shp-o"),
    ev.OrderCancelled(order_id="o", reason="failed"),
    ev.OrderRejected(
        order_id="o",
        reasons=["patient_id: Field required"],
        reasons_total=1,
        order_sha256="0" * 64,
        **kept_raw_message('{"detail": {"order_id": "o"}}'),
    ),
    ev.ConflictingOrderReceived(
        order_id="o",
        message_id="m-2",
        under_state=SagaState.COMPLETED,
        differing_fields=["medications"],
        valid=True,
        order_sha256="1" * 64,
        **kept_raw_message('{"detail": {"order_id": "o"}}'),
    ),
    ev.CompensationFailed(order_id="o", compensation=Compensation.RELEASE_INVENTORY, error="Boom"),
    ev.SagaResumed(order_id="o", execution_arn="arn:aws:states:us-east-1:123456789012:execution:resume:o-resume-1"),
    ev.PrescriptionVerificationRequested(
        order_id="o", prescription_id="rx-o", deadline_at=datetime(2026, 12, 8, tzinfo=UTC)
    ),
    ev.PrescriptionVerified(order_id="o", prescription_id="rx-o", pharmacist_id="ph-7"),
    ev.PrescriptionRejected(order_id="o", prescription_id="rx-o", pharmacist_id="ph-7", reason="dose too high"),
    ev.PrescriptionVerificationOverdue(
        order_id="o", prescription_id="rx-o", deadline_at=datetime(2026, 12, 8, tzinfo=UTC), reason="overdue"
    ),
    ev.VerificationAnswerIgnored(order_id="o", decision="verified", pharmacist_id="ph-7", why="late"),
    ev.CancellationRequested(order_id="o", reason="patient asked", requested_by="bus"),
    ev.CancellationRefused(order_id="o", reason="patient asked", requested_by="cli", why="shipped"),
    ev.OrderFulfillmentSagaCancelled(order_id="o", reason="patient asked"),
]


def _stored_v1(type_key: str, payload: dict[str, Any], version: int = 1) -> ev.StoredEvent:
    """An event as schema version 1 stored it, in its order's stream (payload["order_id"])."""
    order_id = payload["order_id"]
    return ev.StoredEvent(
        event_id="e",
        type=type_key,
        stream_id=f"saga-{order_id}",
        version=version,
        occurred_at=datetime.now(UTC),
        schema_version=1,
        payload=payload,
        metadata=ev.EventMetadata(correlation_id=order_id, source="test"),
    )


def test_every_registered_type_has_an_example() -> None:
    assert {type(e) for e in EXAMPLES} == set(ev.registered_types().values())


def test_the_seed_type_keys_are_registered() -> None:
    seed_keys = {
        "order_fulfillment_saga.started",
        "order_fulfillment_saga.state_changed",
        "order_fulfillment_saga.compensation_recorded",
        "order_fulfillment_saga.failed",
        "order_fulfillment_saga.completed",
        "order.prescription_created",
        "order.prescription_failed",
        "order.inventory_reserved",
        "order.inventory_reservation_failed",
        "order.shipment_initiated",
        "order.shipment_initiation_failed",
        "order.prescription_cancelled",
        "order.inventory_released",
    }
    assert seed_keys <= set(ev.registered_types())


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.TYPE_KEY)
def test_event_round_trips_through_the_registry_and_the_table_item(event: ev.DomainEvent) -> None:
    stored = ev.new_stored_event(event, stream_id="saga-o", version=3, causation_id="c", source="test")
    # Through the DynamoDB item shape and back, then to the typed event through the registry
    again = from_item(to_item(stored))
    assert again == stored
    assert again.to_domain() == event
    assert again.metadata.correlation_id == "o"


def test_registering_a_second_model_under_a_taken_type_key_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):

        class Impostor(ev.DomainEvent):
            TYPE_KEY = "order.prescription_created"


def test_an_old_stored_shape_is_upcast_to_the_current_model() -> None:
    # Given a model whose v2 renamed `note` to `remark`, with its upcaster registered
    class NoteAdded(ev.DomainEvent):
        TYPE_KEY = "test.note_added"
        SCHEMA_VERSION: ClassVar[int] = 2
        remark: str

    @ev.register_upcaster("test.note_added", from_version=1)
    def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
        payload = dict(payload)
        payload["remark"] = payload.pop("note")
        return payload

    # When a v1 event is read back
    stored_v1 = _stored_v1("test.note_added", {"order_id": "o", "note": "hello"})
    # Then it is the current model
    assert stored_v1.to_domain() == NoteAdded(order_id="o", remark="hello")


def test_public_payload_leaves_patient_data_out() -> None:
    started = EXAMPLES[0].public_payload()
    assert started == {"order_id": "o", "verification_required": False}
    reserved = ev.InventoryReserved(order_id="o", reservation_id="r", medications=LINES).public_payload()
    assert "medications" not in reserved
    rejected = EXAMPLES[14].public_payload()
    assert "raw_message" not in rejected


def test_a_rejection_stored_before_its_bounds_reads_as_kept_whole_with_its_digest() -> None:
    # Given an OrderRejected as v1 stored it: every reason, the raw message, nothing else
    raw = json.dumps({"id": "event-1", "detail": {"patient_id": "p", "order_id": "o", "medications": []}})
    stored_v1 = _stored_v1(
        ev.OrderRejected.TYPE_KEY,
        {"order_id": "o", "reasons": ["medications: too short"], "raw_message": raw},
        version=1,
    )
    rejected = stored_v1.to_domain()
    assert isinstance(rejected, ev.OrderRejected)
    canonical = '{"medications":[],"order_id":"o","patient_id":"p"}'
    assert rejected.order_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert (rejected.reasons_total, rejected.raw_message, rejected.raw_message_truncated) == (1, raw, False)
    assert rejected.raw_message_sha256 == hashlib.sha256(raw.encode()).hexdigest()


def test_a_reason_an_outside_system_gave_is_kept_with_the_saga_and_never_published() -> None:
    said = "Patient Jane Roe is allergic; call 555-0100"  # what a pharmacy's free text could hold
    for event in (
        ev.InventoryReservationRefused(order_id="o-1", reason=said, reason_from_outside=True),
        ev.OrderCancelled(order_id="o-1", reason=said, reason_from_outside=True),
        ev.OrderFulfillmentSagaFailed(
            order_id="o-1", failed_step="reserve_inventory", reason=said, reason_from_outside=True
        ),
        ev.OrderFulfillmentSagaStateChanged(
            order_id="o-1",
            from_state=SagaState.PENDING_INVENTORY,
            to_state=SagaState.COMPENSATING,
            reason=said,
            reason_from_outside=True,
        ),
    ):
        assert event.reason == said, "the saga keeps it"
        public = event.public_payload()
        assert said not in json.dumps(public)
        assert public["reason_from_outside"] is True
    # The saga's own reasons are published as they are; events stored before the flag read as the saga's.
    own = ev.InventoryReservationRefused(order_id="o-1", reason="line 1: not enough stock")
    assert own.public_payload()["reason"] == "line 1: not enough stock"
    stored = ev.InventoryReservationRefused.model_validate({"order_id": "o-1", "reason": "line 1: not enough stock"})
    assert stored.reason_from_outside is False


def test_a_resumption_stored_with_its_arn_under_execution_name_replays_as_its_execution_arn() -> None:
    # Given a SagaResumed as v1 stored it: the resume's execution ARN under `execution_name`
    # (resume_saga recorded the task's causation id, Step Functions' $$.Execution.Id: an ARN)
    arn = "arn:aws:states:us-east-1:123456789012:execution:OrderFulfillment-Resume:o-1-resume-1a2b3c4d"
    stored_v1 = _stored_v1(ev.SagaResumed.TYPE_KEY, {"order_id": "o-1", "execution_name": arn}, version=9)
    # When it is read back, as the saga's replay and the CLI read it
    resumed = stored_v1.to_domain()
    # Then the ARN is where its name says, and the execution's name is the ARN's last part
    assert resumed == ev.SagaResumed(order_id="o-1", execution_arn=arn)
    assert resumed_by(stored_v1) == "o-1-resume-1a2b3c4d"
    assert "execution_name" not in resumed.model_dump()
