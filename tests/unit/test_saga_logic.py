"""The steps and compensations as use cases, against in-memory ports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.adapters.memory import InMemoryEventStore
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
from lambdas.domain.states import Compensation, SagaState, Step, compensation_plan
from lambdas.logic import saga_steps
from lambdas.logic.faults import TARGETS, FaultInjector, FaultPlan, parse_plan
from lambdas.logic.repository import SagaRepository
from lambdas.logic.saga_steps import Invocation
from lambdas.logic.start import StartOutcome, UnusableMessage, start_saga
from tests.fakes import HAPPY_PATH_EVENTS, FakeServices, FakeStarter

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


def test_shipment_failure_compensates_in_reverse_and_restores_stock(services: FakeServices) -> None:
    call = start(services, shipping_address={**US_ADDRESS, "postal_code": "nope"})
    saga_steps.create_prescription(services, call)
    saga_steps.reserve_inventory(services, call)
    with pytest.raises(ShipmentInitiationFailed):
        saga_steps.initiate_shipment(services, call)
    for compensation in compensation_plan([Step.CREATE_PRESCRIPTION, Step.RESERVE_INVENTORY]):
        saga_steps.compensate(services, call, compensation=compensation)
        saga_steps.compensate(services, call, compensation=compensation)  # twice: no second effect
    assert state(services) is SagaState.FAILED
    assert services.inventory.available == {"med-1": 10, "med-2": 10}
    assert services.inventory.reserved == {"med-1": 0, "med-2": 0}
    assert services.prescriptions.status == {"rx-o-1": "CANCELLED"}
    saga = services.repository.load("o-1")
    assert saga.compensations_done == [
        Compensation.RELEASE_INVENTORY,
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]
    assert saga.failure_reason == "shipping address: postal code is malformed for its country"


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


def test_a_fault_plan_may_name_each_step_and_compensation_and_nothing_else() -> None:
    assert set(FaultPlan.model_fields) - {"seed"} == set(TARGETS)
    assert set(TARGETS) == {s.value for s in Step} | {c.value for c in Compensation}
    with pytest.raises(ValueError, match="reserve_inventry: not a step or compensation"):
        parse_plan({"reserve_inventry": {"transient": 1.0}})
    with pytest.raises(ValueError, match=r"cancel_order\.permanent: Input should be less than or equal to 1"):
        parse_plan({"cancel_order": {"permanent": 5}})


def test_a_mistyped_plan_fails_the_step_loudly_rather_than_injecting_nothing(services: FakeServices) -> None:
    services.faults = FaultInjector(load_plan=lambda: {"reserve_inventry": {"transient_attempts": 1}})
    call = start(services)
    with pytest.raises(ValueError, match="not a step or compensation"):
        saga_steps.create_prescription(services, call)


def test_compensation_plan_undoes_completed_steps_in_reverse_then_cancels_the_order() -> None:
    assert compensation_plan([]) == [Compensation.CANCEL_ORDER]
    assert compensation_plan([Step.CREATE_PRESCRIPTION]) == [
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]
    assert compensation_plan([Step.CREATE_PRESCRIPTION, Step.RESERVE_INVENTORY]) == [
        Compensation.RELEASE_INVENTORY,
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]


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


class _CountingStore(InMemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read(self, stream_id: str) -> list[ev.StoredEvent]:
        self.reads += 1
        return super().read(stream_id)


def _order_body(order_id: str = "o-1", medications: list[Any] | None = None, **extra: Any) -> str:
    detail = {
        "order_id": order_id,
        "patient_id": "p-1",
        "medications": ["med-1"] if medications is None else medications,
        **extra,
    }
    return json.dumps({"detail": detail})


def test_a_new_order_is_recorded_and_started_without_reading_its_stream() -> None:
    store, starter = _CountingStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    assert start_saga(repository, starter, _order_body(), "m-1") is StartOutcome.STARTED
    assert store.reads == 0
    assert starter.started == ["o-1"]
    assert [e.type for e in store.read("saga-o-1")] == HAPPY_PATH_EVENTS[:2]


def test_a_repeat_of_a_started_order_starts_nothing_and_writes_nothing() -> None:
    store, starter = _CountingStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    before = store.read("saga-o-1")
    assert start_saga(repository, starter, _order_body(), "m-2") is StartOutcome.DUPLICATE
    # also when it spells the same lines another way (a bare id is quantity 1)
    same = _order_body(medications=[{"medication_id": "med-1", "quantity": 1}])
    assert start_saga(repository, starter, same, "m-3") is StartOutcome.DUPLICATE
    assert store.read("saga-o-1") == before
    assert starter.started == ["o-1"]


def test_a_saga_recorded_but_never_started_is_started_by_the_repeat() -> None:
    # Given a crash between recording the saga and starting its execution
    store = InMemoryEventStore()
    repository = SagaRepository(store, source="test")

    class Crashing(FakeStarter):
        def start(self, order_id: str, message_id: str) -> bool:
            raise ConnectionError("lost")

    with pytest.raises(ConnectionError):
        start_saga(repository, Crashing(), _order_body(), "m-1")
    # When the message is delivered again, the execution starts, and the saga is not recorded twice
    starter = FakeStarter()
    assert start_saga(repository, starter, _order_body(), "m-1") is StartOutcome.STARTED
    assert starter.started == ["o-1"]
    assert [e.type for e in store.read("saga-o-1")] == HAPPY_PATH_EVENTS[:2]


def test_a_rejected_order_repeated_stays_one_rejection() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    body = _order_body(medications=[])
    assert start_saga(repository, starter, body, "m-1") is StartOutcome.REJECTED
    assert start_saga(repository, starter, body, "m-2") is StartOutcome.DUPLICATE
    assert [e.type for e in store.read("saga-o-1")] == [ev.OrderRejected.TYPE_KEY]
    assert starter.started == []


# --- a different order under a used order id -----------------------------------------------

CONFLICT = ev.ConflictingOrderReceived.TYPE_KEY
CONFLICTS_KEPT = 20
"""docs/orders.md: at most 20 distinct conflicting orders are recorded per saga."""


def test_a_different_order_under_a_started_sagas_id_is_recorded_on_its_stream_and_starts_nothing() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    edited = _order_body(medications=["med-1", "med-2"])
    # When another order arrives under the same id
    assert start_saga(repository, starter, edited, "m-2") is StartOutcome.CONFLICT
    # Then it is on the saga's stream, kept whole, naming the fields that differ, not their values
    stream = store.read("saga-o-1")
    assert [e.type for e in stream] == [*HAPPY_PATH_EVENTS[:2], CONFLICT]
    conflict = stream[-1].to_domain()
    assert isinstance(conflict, ev.ConflictingOrderReceived)
    assert (conflict.message_id, conflict.differing_fields, conflict.valid) == ("m-2", ["medications"], True)
    assert conflict.under_state is SagaState.PENDING_PRESCRIPTION
    assert (conflict.raw_message, conflict.raw_message_truncated) == (edited, False)
    assert stream[-1].metadata.causation_id == "m-2"
    # and the saga goes on with its first order; nothing else started
    saga = repository.load("o-1")
    assert saga.state is SagaState.PENDING_PRESCRIPTION
    assert [line.medication_id for line in saga.medications] == ["med-1"]
    assert starter.started == ["o-1"]


def test_a_conflicting_order_delivered_again_is_recorded_once() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    for message_id in ("m-2", "m-3", "m-4"):
        assert start_saga(repository, starter, _order_body(patient_id="p-2"), message_id) is StartOutcome.CONFLICT
    assert [e.type for e in store.read("saga-o-1")].count(CONFLICT) == 1
    # an invalid one under the same id is another conflict, and says it was invalid
    assert start_saga(repository, starter, _order_body(medications=[]), "m-5") is StartOutcome.CONFLICT
    invalid = store.read("saga-o-1")[-1].to_domain()
    assert isinstance(invalid, ev.ConflictingOrderReceived)
    assert invalid.valid is False


def test_a_corrected_order_under_a_rejected_orders_id_is_a_conflict_and_the_id_stays_rejected() -> None:
    # The rule: an order id names one order; a rejected order's id is spent (send the fix under a new id)
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    assert start_saga(repository, starter, _order_body(medications=[]), "m-1") is StartOutcome.REJECTED
    assert start_saga(repository, starter, _order_body(), "m-2") is StartOutcome.CONFLICT
    stream = store.read("saga-o-1")
    assert [e.type for e in stream] == [ev.OrderRejected.TYPE_KEY, CONFLICT]
    conflict = stream[-1].to_domain()
    assert isinstance(conflict, ev.ConflictingOrderReceived)
    assert (conflict.under_state, conflict.differing_fields) == (SagaState.REJECTED, ["medications"])
    assert repository.load("o-1").state is SagaState.REJECTED
    assert starter.started == []


def test_past_the_cap_of_recorded_conflicts_a_conflicting_order_goes_to_the_dead_letter_queue() -> None:
    store, starter = InMemoryEventStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-0")
    for number in range(CONFLICTS_KEPT):
        assert start_saga(repository, starter, _order_body(patient_id=f"other-{number}"), f"m-{number + 1}") is (
            StartOutcome.CONFLICT
        )
    with pytest.raises(UnusableMessage, match="conflicting orders recorded"):
        start_saga(repository, starter, _order_body(patient_id="one-more"), "m-last")
    assert [e.type for e in store.read("saga-o-1")].count(CONFLICT) == CONFLICTS_KEPT


class _RacingStore(InMemoryEventStore):
    """Appends one of the saga's own events just before the conflict's first append."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def append(self, events: Any) -> None:
        if not self.raced and events and events[0].type == CONFLICT:
            self.raced = True
            saga = SagaRepository(self, source="step").load("o-1")
            saga.record_prescription_created("rx-o-1")
            SagaRepository(self, source="step").save(saga, causation_id="step")
        super().append(events)


def test_a_conflict_that_loses_a_race_with_its_saga_is_compared_again_and_recorded() -> None:
    store, starter = _RacingStore(), FakeStarter()
    repository = SagaRepository(store, source="test")
    start_saga(repository, starter, _order_body(), "m-1")
    assert start_saga(repository, starter, _order_body(patient_id="p-2"), "m-2") is StartOutcome.CONFLICT
    stream = store.read("saga-o-1")
    types = [e.type for e in stream]
    assert types[-1] == CONFLICT
    assert ev.PrescriptionCreated.TYPE_KEY in types
    assert [e.version for e in stream] == list(range(1, len(stream) + 1))
