"""The saga read model (lambdas/domain/projection.py): what each event does to an order's row.

The expected rows come from the domain's rules (DESIGN.md's states and steps, docs/orders.md): a saga
starts STARTED, moves with its state changes, ends with a duration, lists the steps that completed
and the compensations that ran, says why it failed; a repeated event changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lambdas.domain import events as ev
from lambdas.domain.order import OrderLine
from lambdas.domain.projection import SagaView, VersionGap, apply, rebuild
from lambdas.domain.states import SagaState as S

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _stream(*events: ev.DomainEvent) -> list[ev.StoredEvent]:
    """The events as stored on saga-o-1, one second apart from T0."""
    return [
        ev.new_stored_event(
            e, stream_id="saga-o-1", version=n, causation_id=None, source="test", occurred_at=T0 + timedelta(seconds=n)
        )
        for n, e in enumerate(events, start=1)
    ]


STARTED = ev.OrderFulfillmentSagaStarted(order_id="o-1", patient_id="p-1", medications=[OrderLine(medication_id="m")])


def _moved(source: S | None, target: S, reason: str | None = None) -> ev.OrderFulfillmentSagaStateChanged:
    return ev.OrderFulfillmentSagaStateChanged(order_id="o-1", from_state=source, to_state=target, reason=reason)


def _view(*events: ev.DomainEvent) -> SagaView:
    view = rebuild(_stream(*events))
    assert view is not None
    return view


def test_a_started_order_is_a_started_saga_from_the_time_of_its_event() -> None:
    view = _view(STARTED)
    assert (view.order_id, view.state, view.version) == ("o-1", S.STARTED, 1)
    assert view.started_at == view.updated_at == T0 + timedelta(seconds=1)
    assert (view.ended_at, view.duration_seconds, view.steps_completed) == (None, None, ())


def test_a_completed_saga_lists_its_three_steps_in_order_and_how_long_it_took() -> None:
    view = _view(
        STARTED,
        _moved(S.STARTED, S.PENDING_PRESCRIPTION),
        ev.PrescriptionCreated(order_id="o-1", prescription_id="rx-o-1"),
        _moved(S.PENDING_PRESCRIPTION, S.PENDING_INVENTORY),
        ev.InventoryReserved(order_id="o-1", reservation_id="res-o-1", medications=[OrderLine(medication_id="m")]),
        _moved(S.PENDING_INVENTORY, S.PENDING_SHIPMENT),
        ev.ShipmentInitiated(order_id="o-1", shipment_id="shp-o-1", ships_to="address_on_file"),
        _moved(S.PENDING_SHIPMENT, S.COMPLETED),
        ev.OrderFulfillmentSagaCompleted(order_id="o-1"),
    )
    assert view.state is S.COMPLETED
    assert view.steps_completed == ("create_prescription", "reserve_inventory", "initiate_shipment")
    # ended when it moved to COMPLETED (event 8), started at event 1: 7 seconds
    assert view.ended_at == T0 + timedelta(seconds=8)
    assert view.duration_seconds == 7.0
    assert (view.failed_step, view.failure_reason, view.compensations_run) == (None, None, ())
    assert view.version == 9


@pytest.mark.parametrize(
    ("refusal", "step"),
    [
        (ev.PrescriptionRefused(order_id="o-1", reason="the reason"), "create_prescription"),
        (ev.InventoryReservationRefused(order_id="o-1", reason="the reason"), "reserve_inventory"),
        (ev.ShipmentInitiationRefused(order_id="o-1", reason="the reason"), "initiate_shipment"),
    ],
)
def test_a_refused_step_is_the_failed_step_with_its_reason(refusal: ev.DomainEvent, step: str) -> None:
    view = _view(STARTED, refusal)
    assert view.failed_step == step
    assert view.failure_reason == "the reason"
    assert view.state is S.STARTED, "a refusal moves nothing by itself: the state change does"


def test_a_failed_saga_lists_its_compensations_in_the_order_they_ran_and_ends_with_its_reason() -> None:
    view = _view(
        STARTED,
        _moved(S.STARTED, S.PENDING_PRESCRIPTION),
        ev.PrescriptionCreated(order_id="o-1", prescription_id="rx-o-1"),
        _moved(S.PENDING_PRESCRIPTION, S.PENDING_INVENTORY),
        ev.InventoryReservationRefused(order_id="o-1", reason="line 1: not enough stock"),
        _moved(S.PENDING_INVENTORY, S.COMPENSATING, "line 1: not enough stock"),
        ev.CompensationRecorded(order_id="o-1", compensation="cancel_prescription", had_effect=True),
        ev.PrescriptionCancelled(order_id="o-1", prescription_id="rx-o-1"),
        ev.CompensationRecorded(order_id="o-1", compensation="cancel_order", had_effect=True),
        _moved(S.COMPENSATING, S.FAILED),
        ev.OrderFulfillmentSagaFailed(order_id="o-1", failed_step="reserve_inventory", reason="out of stock"),
    )
    assert view.state is S.FAILED
    assert view.steps_completed == ("create_prescription",)
    assert view.compensations_run == ("cancel_prescription", "cancel_order")
    assert view.failed_step == "reserve_inventory"
    assert view.failure_reason == "out of stock"
    assert view.duration_seconds == 9.0  # FAILED at event 10, started at event 1


def test_a_parked_saga_has_ended_until_an_operator_resumes_it() -> None:
    parked = (STARTED, _moved(S.STARTED, S.COMPENSATING), _moved(S.COMPENSATING, S.COMPENSATION_FAILED))
    view = _view(*parked)
    assert (view.state, view.ended_at, view.duration_seconds) == (S.COMPENSATION_FAILED, T0 + timedelta(seconds=3), 2.0)
    resumed = _view(*parked, _moved(S.COMPENSATION_FAILED, S.COMPENSATING, "resumed by an operator"))
    assert (resumed.state, resumed.ended_at, resumed.duration_seconds) == (S.COMPENSATING, None, None)


def test_a_cancelled_saga_ends_cancelled_with_the_reason() -> None:
    view = _view(
        STARTED,
        _moved(S.STARTED, S.COMPENSATING),
        _moved(S.COMPENSATING, S.CANCELLED),
        ev.OrderFulfillmentSagaCancelled(order_id="o-1", reason="patient asked"),
    )
    assert (view.state, view.failure_reason, view.duration_seconds) == (S.CANCELLED, "patient asked", 2.0)


def _rejected() -> ev.OrderRejected:
    return ev.OrderRejected(
        order_id="o-1",
        raw_message="{}",
        raw_message_bytes=2,
        raw_message_sha256="0" * 64,
        raw_message_truncated=False,
        order_sha256="1" * 64,
        reasons=["medications: too short", "patient_id: missing"],
        reasons_total=2,
    )


def test_a_rejected_order_ends_at_once_rejected_with_every_reason() -> None:
    view = _view(_rejected())
    assert view.state is S.REJECTED
    assert view.failure_reason == "medications: too short; patient_id: missing"
    assert (view.ended_at, view.duration_seconds) == (view.started_at, 0.0)


def test_a_conflicting_order_is_counted_and_changes_nothing_else() -> None:
    conflict = ev.ConflictingOrderReceived(
        order_id="o-1",
        raw_message="{}",
        raw_message_bytes=2,
        raw_message_sha256="0" * 64,
        raw_message_truncated=False,
        order_sha256="2" * 64,
        message_id="m-2",
        under_state=S.STARTED,
        differing_fields=["medications"],
        valid=True,
    )
    before = _view(STARTED)
    after = _view(STARTED, conflict, conflict)
    assert after.conflicting_orders == 2
    assert after.state is before.state
    assert after.model_dump(exclude={"conflicting_orders", "version", "updated_at"}) == before.model_dump(
        exclude={"conflicting_orders", "version", "updated_at"}
    )


def test_a_request_before_its_order_keeps_the_row_waiting_and_the_order_starts_it() -> None:
    request = ev.CancellationRequested(order_id="o-1", reason="changed my mind", requested_by="api")
    waiting = _view(request)
    assert waiting.state is S.ORDER_NOT_RECEIVED
    started = _view(request, STARTED)
    assert started.state is S.STARTED
    assert started.started_at == T0 + timedelta(seconds=2), "the saga starts with its order, not the request"


def test_an_event_applied_again_changes_nothing_and_one_out_of_order_asks_for_a_rebuild() -> None:
    first, second, third = _stream(
        STARTED, _moved(S.STARTED, S.PENDING_PRESCRIPTION), _moved(S.PENDING_PRESCRIPTION, S.COMPENSATING)
    )
    view = apply(apply(None, first), second)
    assert apply(view, second) == view
    assert apply(view, first) == view
    with pytest.raises(VersionGap):
        apply(apply(None, first), third)
    with pytest.raises(VersionGap):
        apply(None, second)
