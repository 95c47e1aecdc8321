"""Property-based: random failure schedules keep the saga's invariants; fuzzed orders never crash.

`make chaos` runs these with the `chaos` profile (about 1,000 examples each).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.domain import events as ev
from lambdas.domain.errors import BusinessFailure, InjectedPermanentFault
from lambdas.domain.order import ORDER_ID_PATTERN, OrderCreated
from lambdas.domain.rules import CatalogueEntry
from lambdas.domain.states import Compensation, SagaState, Step, compensation_plan
from lambdas.logic import saga_steps
from lambdas.logic.saga_steps import Invocation
from lambdas.logic.start import StartOutcome, UnusableMessage, start_saga
from tests.fakes import FakeServices, FakeStarter

STEP_RUN = {
    Step.CREATE_PRESCRIPTION: saga_steps.create_prescription,
    Step.RESERVE_INVENTORY: saga_steps.reserve_inventory,
    Step.INITIATE_SHIPMENT: saga_steps.initiate_shipment,
}
US = {"line1": "1 Main St", "city": "X", "postal_code": "12345", "country": "US"}
schedules = st.tuples(
    st.lists(st.sampled_from(["ok", "refused", "crashed"]), min_size=3, max_size=3),
    st.dictionaries(st.sampled_from(list(Compensation)), st.sampled_from(["ok", "transient", "permanent"])),
)


def _fresh(undeliverable: bool) -> FakeServices:
    services = FakeServices()
    services.catalogue.items = {"med-1": CatalogueEntry("med-1", 5), "med-2": CatalogueEntry("med-2", 5)}
    services.inventory.available = {"med-1": 10, "med-2": 10}
    address = {**US, "country": "AQ"} if undeliverable else US
    order = OrderCreated.model_validate(
        {"order_id": "o", "patient_id": "p", "medications": ["med-1", "med-2"], "shipping_address": address}
    )
    saga = services.repository.load("o")
    saga.start(order)
    services.repository.save(saga, causation_id="m")
    return services


def _refuse(services: FakeServices, step: Step) -> None:
    """Arrange for the step's real business rule to refuse."""
    if step is Step.CREATE_PRESCRIPTION:
        services.catalogue.items.pop("med-2")
    elif step is Step.RESERVE_INVENTORY:
        services.inventory.available["med-2"] = 0
    # a shipment is refused by the undeliverable address the order was started with


def _crash_after_work(services: FakeServices, step: Step) -> None:
    """The harshest crash: the step did its business write, then died before recording it."""
    saga = services.repository.load("o")
    if step is Step.CREATE_PRESCRIPTION:
        services.prescriptions.create("rx-o", "o", saga.medications, patient_id=saga.patient_id or "")
    elif step is Step.RESERVE_INVENTORY:
        services.inventory.reserve("res-o", "o", saga.medications)
    else:
        services.shipments.initiate(
            "shp-o", "o", "order_address", patient_id=saga.patient_id or "", address=saga.shipping_address
        )


def _run_compensations(services: FakeServices, plan: list[Compensation], faults: dict[Compensation, str]) -> bool:
    """As the state machine does: each compensation retried; a permanent failure parks the saga."""
    for compensation in plan:
        fault = faults.get(compensation, "ok")
        attempts = 0
        while True:
            attempts += 1
            try:
                if fault == "permanent" or (fault == "transient" and attempts == 1):
                    raise InjectedPermanentFault(compensation.value)
                saga_steps.compensate(services, Invocation("o", error={"Error": "x"}), compensation=compensation)
                break
            except InjectedPermanentFault:
                if attempts > 6:
                    saga_steps.record_compensation_failure(services, Invocation("o", error={"Error": "Injected"}))
                    return False
    return True


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(schedules)
def test_any_failure_schedule_ends_consistently_and_resume_finishes_it(
    schedule: tuple[list[str], dict[Compensation, str]],
) -> None:
    outcomes, faults = schedule
    services = _fresh(undeliverable=outcomes[:3] == ["ok", "ok", "refused"])
    completed: list[Step] = []
    plan: list[Compensation] | None = None
    for step, outcome in zip(Step, outcomes, strict=True):
        if outcome == "ok":
            STEP_RUN[step](services, Invocation("o"))
            completed.append(step)
            continue
        if outcome == "refused":
            _refuse(services, step)
            with pytest.raises(BusinessFailure):
                STEP_RUN[step](services, Invocation("o"))
            plan = compensation_plan(completed)
        else:
            _crash_after_work(services, step)
            plan = compensation_plan([*completed, step])
        break
    saga = services.repository.load("o")
    if plan is None:
        assert saga.state is SagaState.COMPLETED
        return
    assert plan == saga.remaining_compensations, "the plan the state machine follows is the saga's own"
    finished = _run_compensations(services, plan, faults)
    saga = services.repository.load("o")
    needed_permanent = any(faults.get(c) == "permanent" for c in plan)
    assert finished is not needed_permanent
    if not finished:
        assert saga.state is SagaState.COMPENSATION_FAILED
        # the operator fixes the cause and resumes
        saga_steps.resume(services, Invocation("o", causation_id="resume-1"))
        _run_compensations(services, services.repository.load("o").remaining_compensations, {})
        saga = services.repository.load("o")
    assert saga.state is SagaState.FAILED
    assert saga.compensations_done == [c for c in plan if c in saga.compensations_done], "in reverse order"
    assert services.inventory.available["med-1"] == 10, "stock back where it was"
    assert services.shipments.shipments == {}, "no shipment left for a failed order"
    assert all(status == "RELEASED" for status, _ in services.inventory.reservations.values())
    assert "ACTIVE" not in services.prescriptions.status.values()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
lines = st.one_of(
    st.text(max_size=12),
    st.fixed_dictionaries(
        {"medication_id": st.text(max_size=12)}, optional={"quantity": st.integers(-3, 1200) | json_values}
    ),
    json_values,
)
details = st.fixed_dictionaries(
    {},
    optional={
        "order_id": st.from_regex(ORDER_ID_PATTERN, fullmatch=True) | st.text(max_size=90) | json_values,
        "patient_id": st.text(max_size=20) | json_values,
        "medications": st.lists(lines, max_size=30) | json_values,
        "shipping_address": st.fixed_dictionaries(
            {"line1": st.text(max_size=5), "city": st.text(max_size=5), "postal_code": st.text(max_size=6)},
            optional={"country": st.text(max_size=3)},
        )
        | json_values,
        "metadata": json_values,
        "unexpected": json_values,
    },
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(details)
def test_every_fuzzed_order_is_accepted_or_rejected_with_a_reason_and_leaves_nothing_else(
    detail: dict[str, Any],
) -> None:
    services = FakeServices()
    starter = FakeStarter()
    body = json.dumps({"detail": detail})
    try:
        outcome = start_saga(services.repository, starter, body, "m-1")
    except UnusableMessage:
        assert not list(services.event_store.iter_all()), "an unusable message leaves nothing behind"
        assert not starter.started
        return
    stored = list(services.event_store.iter_all())
    if outcome is StartOutcome.REJECTED:
        [rejected] = stored
        assert rejected.type == ev.OrderRejected.TYPE_KEY
        assert rejected.payload["reasons"], "a rejection says why"
        assert json.loads(rejected.payload["raw_message"]) == {"detail": detail}, "the raw message is kept"
        assert not starter.started, "a rejected order starts nothing"
    else:
        assert outcome is StartOutcome.STARTED
        assert [e.type for e in stored] == [
            ev.OrderFulfillmentSagaStarted.TYPE_KEY,
            ev.OrderFulfillmentSagaStateChanged.TYPE_KEY,
        ]
        assert starter.started == [detail["order_id"]]
