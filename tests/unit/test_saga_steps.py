"""The steps and compensations as use cases (lambdas/logic/saga_steps.py), against in-memory ports."""

from __future__ import annotations

import pytest

from lambdas.domain import events as ev
from lambdas.domain.errors import (
    IllegalTransition,
    InjectedPermanentFault,
    InjectedTransientFault,
    InventoryReservationFailed,
    PrescriptionFailed,
    SagaNotFound,
    ShipmentInitiationFailed,
)
from lambdas.domain.order import OrderCreated
from lambdas.domain.rules import CatalogueEntry
from lambdas.domain.states import Compensation, SagaState
from lambdas.logic import saga_steps
from lambdas.logic.faults import FaultInjector
from lambdas.logic.saga_steps import Invocation
from tests.fakes import HAPPY_PATH_EVENTS, FakeServices

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


@pytest.fixture
def services() -> FakeServices:
    fake = FakeServices()
    fake.catalogue.items = {m: CatalogueEntry(m, 5) for m in ("med-1", "med-2")}
    fake.inventory.available = {"med-1": 10, "med-2": 10}
    return fake


def start(services: FakeServices, order_id: str = "o-1", **detail: object) -> Invocation:
    order = OrderCreated.model_validate(
        {"order_id": order_id, "patient_id": "p-1", "medications": ["med-1", "med-2"], **detail}
    )
    saga = services.repository.load(order_id)
    saga.start(order)
    services.repository.save(saga, causation_id="msg-1")
    return Invocation(order_id=order_id)


def types(services: FakeServices, order_id: str = "o-1") -> list[str]:
    return [e.type for e in services.event_store.read(f"saga-{order_id}")]


def state(services: FakeServices, order_id: str = "o-1") -> SagaState | None:
    return services.repository.load(order_id).state


def test_happy_path_completes_and_records_each_step(services: FakeServices) -> None:
    call = start(services)
    saga_steps.create_prescription(services, call)
    saga_steps.reserve_inventory(services, call)
    saga_steps.initiate_shipment(services, call)
    assert state(services) is SagaState.COMPLETED
    assert types(services) == HAPPY_PATH_EVENTS
    assert services.inventory.available == {"med-1": 9, "med-2": 9}
    assert services.shipments.shipments == {"shp-o-1": "address_on_file"}


def test_every_step_run_twice_has_the_effect_of_running_once(services: FakeServices) -> None:
    call = start(services, shipping_address=US_ADDRESS)
    for step in (saga_steps.create_prescription, saga_steps.reserve_inventory, saga_steps.initiate_shipment):
        first = step(services, call)
        assert step(services, call) == first
    assert len(types(services)) == 9
    assert services.inventory.available == {"med-1": 9, "med-2": 9}


def test_unknown_medication_fails_the_prescription_and_records_why(services: FakeServices) -> None:
    del services.catalogue.items["med-2"]
    call = start(services)
    with pytest.raises(PrescriptionFailed, match="line 2"):
        saga_steps.create_prescription(services, call)
    # a repeat of the refused step refuses again without recording twice
    with pytest.raises(PrescriptionFailed):
        saga_steps.create_prescription(services, call)
    assert state(services) is SagaState.COMPENSATING
    assert types(services).count(ev.PrescriptionRefused.TYPE_KEY) == 1
    assert services.prescriptions.status == {}


def test_no_stock_reserves_nothing(services: FakeServices) -> None:
    services.inventory.available["med-2"] = 0
    call = start(services)
    saga_steps.create_prescription(services, call)
    with pytest.raises(InventoryReservationFailed, match="line 2: not enough stock"):
        saga_steps.reserve_inventory(services, call)
    assert services.inventory.available == {"med-1": 10, "med-2": 0}


def test_undeliverable_address_fails_the_shipment(services: FakeServices) -> None:
    call = start(services, shipping_address={**US_ADDRESS, "country": "FR"})
    saga_steps.create_prescription(services, call)
    saga_steps.reserve_inventory(services, call)
    with pytest.raises(ShipmentInitiationFailed, match="country is not serviced"):
        saga_steps.initiate_shipment(services, call)


def test_a_failed_shipment_is_undone_in_reverse_order_of_the_completed_steps(services: FakeServices) -> None:
    # The domain's rule (DESIGN.md, docs/architecture.md): a failing Initiate Shipment undoes the completed
    # steps in reverse order (Release Inventory, then Cancel Prescription), then cancels the order.
    undo_in_reverse = [Compensation.RELEASE_INVENTORY, Compensation.CANCEL_PRESCRIPTION, Compensation.CANCEL_ORDER]
    call = start(services, shipping_address={**US_ADDRESS, "postal_code": "nope"})
    saga_steps.create_prescription(services, call)
    saga_steps.reserve_inventory(services, call)
    with pytest.raises(ShipmentInitiationFailed):
        saga_steps.initiate_shipment(services, call)
    # The saga names what remains (what a resumption runs next), in that order, one compensation at a time
    for expected in undo_in_reverse:
        remaining = services.repository.load("o-1").remaining_compensations
        assert remaining == undo_in_reverse[undo_in_reverse.index(expected) :]
        saga_steps.compensate(services, call, compensation=expected)
        saga_steps.compensate(services, call, compensation=expected)  # twice: no second effect
    assert state(services) is SagaState.FAILED
    assert services.inventory.available == {"med-1": 10, "med-2": 10}
    assert services.inventory.reserved == {"med-1": 0, "med-2": 0}
    assert services.prescriptions.status == {"rx-o-1": "CANCELLED"}
    assert services.repository.load("o-1").remaining_compensations == []
    assert services.repository.load("o-1").failure_reason == (
        "shipping address: postal code is malformed for its country"
    )


def test_compensating_a_step_that_never_happened_is_a_no_op(services: FakeServices) -> None:
    call = start(services)
    # the first step crashed (no refusal recorded): the compensation itself moves the saga on
    result = saga_steps.compensate(
        services, Invocation("o-1", error={"Error": "Lambda.Unknown"}), compensation=Compensation.CANCEL_PRESCRIPTION
    )
    assert result["state"] == SagaState.COMPENSATING
    recorded = [e for e in services.event_store.read("saga-o-1") if e.type == ev.CompensationRecorded.TYPE_KEY]
    assert recorded[0].payload["had_effect"] is False
    assert ev.PrescriptionCancelled.TYPE_KEY not in types(services)
    saga_steps.compensate(services, call, compensation=Compensation.CANCEL_ORDER)
    assert state(services) is SagaState.FAILED


def test_a_step_for_an_unknown_saga_is_refused(services: FakeServices) -> None:
    with pytest.raises(SagaNotFound):
        saga_steps.create_prescription(services, Invocation("never-started"))


def test_a_step_cannot_run_after_the_saga_moved_past_it(services: FakeServices) -> None:
    call = start(services)
    saga_steps.compensate(services, call, compensation=Compensation.CANCEL_ORDER)
    with pytest.raises(IllegalTransition):
        saga_steps.create_prescription(services, call)


def test_compensation_failure_parks_the_saga_naming_the_compensation(services: FakeServices) -> None:
    call = start(services)
    saga_steps.create_prescription(services, call)
    saga_steps.reserve_inventory(services, call)
    failure = Invocation("o-1", error={"Error": "InjectedPermanentFault", "Cause": "..."})
    result = saga_steps.record_compensation_failure(services, failure)
    # the shipment step was in flight (it may have shipped before crashing): its undo comes first
    assert result == {"state": SagaState.COMPENSATION_FAILED, "compensation": "cancel_shipment"}
    failed = [e for e in services.event_store.read("saga-o-1") if e.type == ev.CompensationFailed.TYPE_KEY]
    assert failed[0].payload["compensation"] == "cancel_shipment"
    assert failed[0].payload["error"] == "InjectedPermanentFault"
    # recorded once even when the recorder is retried
    saga_steps.record_compensation_failure(services, failure)
    assert types(services).count(ev.CompensationFailed.TYPE_KEY) == 1
    saga = services.repository.load("o-1")
    assert saga.remaining_compensations == [
        Compensation.CANCEL_SHIPMENT,
        Compensation.RELEASE_INVENTORY,
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]


def test_fault_injection_transient_then_success_and_permanent_every_attempt(services: FakeServices) -> None:
    plan = {"reserve_inventory": {"transient_attempts": 1}, "cancel_order": {"permanent": 1.0}}
    services.faults = FaultInjector(load_plan=lambda: plan)
    call = start(services)
    saga_steps.create_prescription(services, call)
    with pytest.raises(InjectedTransientFault):
        saga_steps.reserve_inventory(services, Invocation("o-1", attempt=0))
    saga_steps.reserve_inventory(services, Invocation("o-1", attempt=1))
    for attempt in range(3):
        with pytest.raises(InjectedPermanentFault):
            saga_steps.compensate(services, Invocation("o-1", attempt=attempt), compensation=Compensation.CANCEL_ORDER)


def test_a_mistyped_plan_fails_the_step_loudly_rather_than_injecting_nothing(services: FakeServices) -> None:
    services.faults = FaultInjector(load_plan=lambda: {"reserve_inventry": {"transient_attempts": 1}})
    call = start(services)
    with pytest.raises(ValueError, match="not a step or compensation"):
        saga_steps.create_prescription(services, call)


def test_a_refused_step_has_nothing_to_undo_but_a_crashed_one_is_undone(services: FakeServices) -> None:
    # Given a saga refused at inventory (nothing reserved)
    services.inventory.available["med-2"] = 0
    call = start(services)
    saga_steps.create_prescription(services, call)
    with pytest.raises(InventoryReservationFailed):
        saga_steps.reserve_inventory(services, call)
    # Then what remains skips Release Inventory, as the state machine's Catch does
    assert services.repository.load("o-1").remaining_compensations == [
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]
    # Given instead a saga whose reservation crashed (it may have reserved before crashing)
    services.inventory.available["med-2"] = 10
    crashed = start(services, order_id="o-2")
    saga_steps.create_prescription(services, crashed)
    # Then Release Inventory is part of what remains
    assert services.repository.load("o-2").remaining_compensations[0] is Compensation.RELEASE_INVENTORY


def test_resuming_a_parked_saga_names_the_next_compensation_once(services: FakeServices) -> None:
    # Given a saga parked while undoing its (possibly crashed) shipment
    call = start(services)
    saga_steps.create_prescription(services, call)
    saga_steps.reserve_inventory(services, call)
    saga_steps.record_compensation_failure(services, Invocation("o-1", error={"Error": "Boom"}))
    # When an operator resumes it (and the resume task is retried)
    resumed = Invocation("o-1", causation_id="arn:execution:o-1-resume-1")
    assert saga_steps.resume(services, resumed) == {"next": "cancel_shipment"}
    assert saga_steps.resume(services, resumed) == {"next": "cancel_shipment"}
    # Then it is compensating again, resumed once
    assert state(services) is SagaState.COMPENSATING
    assert types(services).count(ev.SagaResumed.TYPE_KEY) == 1
    for compensation in services.repository.load("o-1").remaining_compensations:
        saga_steps.compensate(services, call, compensation=compensation)
    assert state(services) is SagaState.FAILED
    assert services.inventory.available == {"med-1": 10, "med-2": 10}


def test_only_a_parked_saga_can_be_resumed_by_an_operator(services: FakeServices) -> None:
    call = start(services)
    with pytest.raises(IllegalTransition):
        saga_steps.resume(services, Invocation(call.order_id, causation_id="x"))
