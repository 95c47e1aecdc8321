"""A stored event as the publisher puts it on the domain-events bus (lambdas/logic/publish.py).

Expected from two sources outside the code: EventBridge's PutEventsRequestEntry (API reference: Source,
DetailType of at most 128 characters, Detail a JSON object, EventBusName) and the published contract
(docs/orders.md, "What the domain bus carries": source `pharmacy.saga`, detail-type the type key, the
public payload only; DESIGN.md: every event carries its id, type, stream, version, time and metadata).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from lambdas.domain import events as ev
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.logic.publish import bus_entry

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

AT = datetime(2026, 12, 7, 8, 0, 0, 123000, tzinfo=UTC)
PATIENT = "patient-7c1e"
MEDICATION = "med-oxy-9"
STREET = "12 Elm Close"


def _stored(event: ev.DomainEvent, version: int = 1) -> ev.StoredEvent:
    return ev.new_stored_event(
        event, stream_id="saga-o-1", version=version, causation_id="msg-1", source="start_saga", occurred_at=AT
    )


def _detail(entry: PutEventsRequestEntryTypeDef) -> dict[str, Any]:
    detail = json.loads(entry["Detail"])
    assert isinstance(detail, dict), "Detail is a JSON object"
    return detail


STARTED = ev.OrderFulfillmentSagaStarted(
    order_id="o-1",
    patient_id=PATIENT,
    medications=[OrderLine(medication_id=MEDICATION, quantity=2)],
    shipping_address=ShippingAddress(line1=STREET, city="Springfield", postal_code="12345", country="US"),
    order_metadata={"source": "api"},
)


def test_an_entry_is_a_put_events_entry_from_the_saga_on_the_named_bus_typed_by_its_type_key() -> None:
    entry = bus_entry(_stored(STARTED), "domain-events")
    assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName"}
    assert entry["Source"] == "pharmacy.saga"
    assert entry["DetailType"] == "order_fulfillment_saga.started"
    assert entry["EventBusName"] == "domain-events"


def test_the_detail_carries_the_events_envelope() -> None:
    stored = _stored(STARTED, version=3)
    detail = _detail(bus_entry(stored, "domain-events"))
    assert detail["event_id"] == stored.event_id
    assert detail["type"] == "order_fulfillment_saga.started"
    assert (detail["stream_id"], detail["version"]) == ("saga-o-1", 3)
    assert datetime.fromisoformat(detail["occurred_at"]) == AT
    assert detail["schema_version"] == 1, "the started event's first and only shape"
    assert detail["metadata"] == {"correlation_id": "o-1", "causation_id": "msg-1", "source": "start_saga"}
    assert detail["payload"]["order_id"] == "o-1"


def test_no_patient_data_reaches_the_bus() -> None:
    entry = bus_entry(_stored(STARTED), "domain-events")
    payload = _detail(entry)["payload"]
    assert not {"patient_id", "medications", "shipping_address", "order_metadata"} & set(payload)
    for value in (PATIENT, MEDICATION, STREET):
        assert value not in json.dumps(entry)


def test_a_reason_said_outside_the_saga_is_replaced_by_the_fixed_sentence() -> None:
    rejected = ev.PrescriptionRejected(
        order_id="o-1", prescription_id="rx-o-1", pharmacist_id="ph-1", reason="patient is allergic to penicillin"
    )
    entry = bus_entry(_stored(rejected), "domain-events")
    payload = _detail(entry)["payload"]
    # docs/orders.md quotes the sentence the bus carries instead
    assert payload["reason"] == (
        "said outside the saga (by the pharmacy's system, a pharmacist or a requester); kept with the saga"
    )
    assert "allergic" not in json.dumps(entry)
    assert (payload["prescription_id"], payload["pharmacist_id"]) == ("rx-o-1", "ph-1")


@pytest.mark.parametrize("type_key", sorted(ev.registered_types()))
def test_every_type_key_fits_eventbridges_detail_type(type_key: str) -> None:
    assert 1 <= len(type_key) <= 128


def test_an_event_stored_in_an_older_shape_is_published_upcast_and_says_the_shape_it_has() -> None:
    # Given a SagaResumed stored before schema 2, its ARN under the old, misleading `execution_name`
    arn = "arn:aws:states:us-east-1:123456789012:execution:compensation:o-1-resume-1"
    stored = ev.StoredEvent.model_validate(
        {
            **_stored(ev.SagaResumed(order_id="o-1", execution_arn=arn)).model_dump(),
            "schema_version": 1,
            "payload": {"order_id": "o-1", "execution_name": arn},
        }
    )
    detail = _detail(bus_entry(stored, "domain-events"))
    # Then a subscriber gets the payload in today's shape, and the schema version of that shape, not the stored one
    assert detail["payload"] == {"order_id": "o-1", "execution_arn": arn}
    assert detail["schema_version"] == 2
