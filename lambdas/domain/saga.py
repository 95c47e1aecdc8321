"""The order-fulfillment saga aggregate: state folded from its events, and its decisions.

Every command returns the new events to append (possibly none: running a command a
second time decides nothing new, which is what makes the handlers idempotent). The
aggregate refuses transitions the saga's rules do not allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas.domain import events as ev
from lambdas.domain import intake, rules
from lambdas.domain.errors import IllegalTransition
from lambdas.domain.order import OrderCreated, OrderLine, ShippingAddress
from lambdas.domain.states import (
    PENDING_STATES,
    Compensation,
    SagaState,
    Step,
    compensation_plan,
    is_legal,
)

_STEP_PENDING_IN = {step.pending_state: step for step in Step}


@dataclass
class OrderFulfillmentSaga:
    order_id: str
    state: SagaState | None = None
    version: int = 0
    patient_id: str | None = None
    medications: list[OrderLine] = field(default_factory=list)
    shipping_address: ShippingAddress | None = None
    prescription_id: str | None = None
    reservation_id: str | None = None
    shipment_id: str | None = None
    completed_steps: list[Step] = field(default_factory=list)
    compensations_done: list[Compensation] = field(default_factory=list)
    failed_step: Step | None = None
    failure_reason: str | None = None
    failure_reason_from_outside: bool = False
    """The failure reason is an outside system's words (kept, shown escaped, never published)."""
    step_in_flight: Step | None = None
    resumed_by: str | None = None
    """The execution that last resumed this saga, if any."""
    verification_required: bool = False
    verification_deadline: datetime | None = None
    verification_decision: str | None = None
    """`verified`, `rejected` or `overdue` once decided."""
    cancellation: ev.CancellationRequested | None = None
    """The cancellation the saga accepted, if any: it then ends CANCELLED rather than FAILED."""
    first_event: ev.OrderFulfillmentSagaStarted | ev.OrderRejected | None = field(default=None, repr=False)
    """The event that named the saga: what a later delivery under its order id is compared with."""
    conflicts: set[str] = field(default_factory=set)
    """The digests of the conflicting orders recorded: each is recorded once."""
    _pending: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    # --- folding history ----------------------------------------------------------------

    @classmethod
    def from_history(cls, order_id: str, history: Iterable[ev.DomainEvent]) -> OrderFulfillmentSaga:
        saga = cls(order_id=order_id)
        for event in history:
            saga._apply(event)
            saga.version += 1
        return saga

    def _apply(self, event: ev.DomainEvent) -> None:  # noqa: C901 - one branch per event type
        match event:
            case ev.OrderFulfillmentSagaStarted():
                self.state = SagaState.STARTED
                self.patient_id = event.patient_id
                self.medications = list(event.medications)
                self.shipping_address = event.shipping_address
                self.verification_required = event.verification_required
                self.first_event = event
            case ev.OrderRejected():
                self.state = SagaState.REJECTED
                self.failure_reason = "; ".join(event.reasons)
                self.first_event = event
            case ev.ConflictingOrderReceived():
                self.conflicts.add(event.order_sha256)
            case ev.OrderFulfillmentSagaStateChanged():
                self.state = event.to_state
                self.step_in_flight = _STEP_PENDING_IN.get(event.to_state, self.step_in_flight)
            case ev.PrescriptionCreated():
                self.prescription_id = event.prescription_id
                self.completed_steps.append(Step.CREATE_PRESCRIPTION)
            case ev.InventoryReserved():
                self.reservation_id = event.reservation_id
                self.completed_steps.append(Step.RESERVE_INVENTORY)
            case ev.ShipmentInitiated():
                self.shipment_id = event.shipment_id
                self.completed_steps.append(Step.INITIATE_SHIPMENT)
            case ev.PrescriptionRefused():
                self._record_failure(Step.CREATE_PRESCRIPTION, event.reason, event.reason_from_outside)
            case ev.InventoryReservationRefused():
                self._record_failure(Step.RESERVE_INVENTORY, event.reason, event.reason_from_outside)
            case ev.ShipmentInitiationRefused():
                self._record_failure(Step.INITIATE_SHIPMENT, event.reason, event.reason_from_outside)
            case ev.CompensationRecorded():
                self.compensations_done.append(Compensation(event.compensation))
            case ev.OrderFulfillmentSagaFailed():
                self.failure_reason, self.failure_reason_from_outside = event.reason, event.reason_from_outside
            case ev.SagaResumed():
                self.resumed_by = event.execution_arn
            case ev.PrescriptionVerificationRequested():
                self.verification_deadline = event.deadline_at
            case ev.PrescriptionVerified():
                self.verification_decision = "verified"
            case ev.PrescriptionRejected():
                self.verification_decision = "rejected"
                self.failure_reason, self.failure_reason_from_outside = event.reason, event.reason_from_outside
            case ev.PrescriptionVerificationOverdue():
                self.verification_decision = "overdue"
                self.failure_reason, self.failure_reason_from_outside = event.reason, False
            case ev.CancellationRequested():
                self.cancellation = event
                self._kept_before_the_order()
            case ev.VerificationAnswerIgnored() | ev.CancellationRefused():
                self._kept_before_the_order()
            case _:
                pass  # completed, cancelled, compensation failed, resumed: no state beyond the state change

    def _kept_before_the_order(self) -> None:
        """A request recorded before any order came keeps the stream, visibly, until it does."""
        if self.state is None:
            self.state = SagaState.ORDER_NOT_RECEIVED

    def _record_failure(self, step: Step, reason: str, from_outside: bool) -> None:
        self.failed_step = step
        self.failure_reason, self.failure_reason_from_outside = reason, from_outside

    def _emit(self, *new_events: ev.DomainEvent) -> None:
        for event in new_events:
            if isinstance(event, ev.OrderFulfillmentSagaStateChanged) and not is_legal(self.state, event.to_state):
                raise IllegalTransition(f"saga {self.order_id}: {self.state} -> {event.to_state} is not allowed")
            self._apply(event)
            self._pending.append(event)

    def _change_state(self, to_state: SagaState, reason: str | None = None, *, from_outside: bool = False) -> None:
        self._emit(
            ev.OrderFulfillmentSagaStateChanged(
                order_id=self.order_id,
                from_state=self.state,
                to_state=to_state,
                reason=reason,
                reason_from_outside=from_outside,
            )
        )

    def take_new_events(self) -> list[ev.DomainEvent]:
        """The events decided since loading, in order; the caller appends them."""
        new_events, self._pending = self._pending, []
        return new_events

    # --- questions ----------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        """Whether an order was received under this id (started or rejected)."""
        return self.state is not None and self.state is not SagaState.ORDER_NOT_RECEIVED

    @property
    def order(self) -> dict[str, Any] | None:
        """The order this saga was named after: normalised when started, raw when rejected (unless
        its message was too large to keep whole)."""
        match self.first_event:
            case ev.OrderFulfillmentSagaStarted() as started:
                return intake.canonical_order(
                    OrderCreated.model_construct(
                        order_id=started.order_id,
                        patient_id=started.patient_id,
                        medications=started.medications,
                        shipping_address=started.shipping_address,
                        metadata=started.order_metadata,
                    )
                )
            case ev.OrderRejected() as rejected if not rejected.raw_message_truncated:
                return intake.order_detail(rejected.raw_message)
            case _:
                return None

    @property
    def remaining_compensations(self) -> list[Compensation]:
        """What is still to undo, in order: the plan for the completed steps minus what ran."""
        steps = list(self.completed_steps)
        # The step that was running when the saga failed may have done its work before
        # crashing; undoing a step that never happened is a no-op, so undo it too. A step
        # refused by a business rule did nothing, so there is nothing of it to undo.
        in_flight = self.step_in_flight
        if in_flight is not None and in_flight not in steps and in_flight is not self.failed_step:
            steps.append(in_flight)
        return [c for c in compensation_plan(steps) if c not in self.compensations_done]

    # --- commands -----------------------------------------------------------------------

    def start(self, order: OrderCreated, *, verification_required: bool = False) -> None:
        if self.exists:
            return
        self._emit(
            ev.OrderFulfillmentSagaStarted(
                order_id=self.order_id,
                patient_id=order.patient_id,
                medications=list(order.medications),
                shipping_address=order.shipping_address,
                order_metadata=order.metadata,
                verification_required=verification_required,
            )
        )
        if self.cancellation is not None:
            # Cancelled before it came: no step runs, and there is nothing to undo but the order itself.
            self._change_state(
                SagaState.COMPENSATING, self.cancellation.reason, from_outside=self.cancellation.reason_from_outside
            )
            self._end_cancelled(self.cancellation, had_effect=False)
            return
        self._change_state(SagaState.PENDING_PRESCRIPTION, "execution starting")

    def reject(self, delivery: intake.Delivery) -> None:
        if self.exists:
            return
        self._emit(
            ev.OrderRejected(
                order_id=self.order_id,
                reasons=intake.bounded_reasons(delivery.reasons),
                reasons_total=len(delivery.reasons),
                order_sha256=delivery.digest,
                **intake.kept_raw_message(delivery.raw_message),
            )
        )

    def is_same_order(self, delivery: intake.Delivery) -> bool:
        """Whether `delivery` repeats the order this saga was named after (a redelivery, a retry)."""
        if isinstance(self.first_event, ev.OrderRejected):
            return delivery.digest == self.first_event.order_sha256
        return delivery.order is not None and delivery.content == self.order

    def _comparable(self, delivery: intake.Delivery) -> dict[str, Any]:
        """The delivery as this saga's order is kept: raw beside a rejected one, else normalised."""
        return delivery.detail if isinstance(self.first_event, ev.OrderRejected) else delivery.content

    def record_conflict(self, delivery: intake.Delivery) -> None:
        """Keep a different order sent under this saga's order id; once per distinct content."""
        if not self.exists or self.is_same_order(delivery) or delivery.digest in self.conflicts:
            return
        self._emit(
            ev.ConflictingOrderReceived(
                order_id=self.order_id,
                message_id=delivery.message_id,
                under_state=self.state,
                differing_fields=intake.fields_differing(self.order, self._comparable(delivery)),
                valid=delivery.order is not None,
                order_sha256=delivery.digest,
                **intake.kept_raw_message(delivery.raw_message),
            )
        )

    def record_prescription_created(self, prescription_id: str) -> None:
        if Step.CREATE_PRESCRIPTION in self.completed_steps:
            return
        self._require(Step.CREATE_PRESCRIPTION)
        self._emit(ev.PrescriptionCreated(order_id=self.order_id, prescription_id=prescription_id))
        next_state = SagaState.PENDING_VERIFICATION if self.verification_required else SagaState.PENDING_INVENTORY
        self._change_state(next_state)

    # --- a pharmacist's verification ------------------------------------------------------

    def record_verification_requested(self, deadline_at: datetime) -> None:
        """The made prescription now waits for a pharmacist until `deadline_at` (once)."""
        if self.verification_deadline is not None:
            return
        self._require_waiting()
        self._emit(
            ev.PrescriptionVerificationRequested(
                order_id=self.order_id, prescription_id=self._prescription(), deadline_at=deadline_at
            )
        )

    def why_an_answer_changes_nothing(self, at: datetime) -> str | None:
        """None when a pharmacist's answer arriving `at` decides the verification; else why it does not."""
        if not self.exists:
            return "no order was received under this id"
        if not self.verification_required:
            return "this saga does not wait for a pharmacist"
        if self.verification_decision == "overdue" or (
            self.verification_deadline is not None and at > self.verification_deadline
        ):
            return "it came after the verification deadline"
        if self.verification_decision is not None:
            return f"the prescription was {self.verification_decision} already"
        if self.state is not SagaState.PENDING_VERIFICATION:
            return f"the saga is {self.state}, not waiting for a pharmacist"
        return None

    def answer_verification(self, decision: str, pharmacist_id: str, at: datetime, reason: str | None = None) -> bool:
        """Apply a pharmacist's `verified` or `rejected` (with `reason`, their words); False when it changes
        nothing, recorded with why."""
        if decision not in ("verified", "rejected"):
            raise ValueError(f"a pharmacist's decision is verified or rejected, not {decision!r}")
        if (why := self.why_an_answer_changes_nothing(at)) is not None:
            self._emit(
                ev.VerificationAnswerIgnored(
                    order_id=self.order_id, decision=decision, pharmacist_id=pharmacist_id, reason=reason, why=why
                )
            )
            return False
        prescription_id = self._prescription()
        if decision == "verified":
            self._emit(
                ev.PrescriptionVerified(
                    order_id=self.order_id, prescription_id=prescription_id, pharmacist_id=pharmacist_id
                )
            )
            self._change_state(SagaState.PENDING_INVENTORY)
            return True
        said = reason or "rejected by the pharmacist"
        self._emit(
            ev.PrescriptionRejected(
                order_id=self.order_id, prescription_id=prescription_id, pharmacist_id=pharmacist_id, reason=said
            )
        )
        self._change_state(SagaState.COMPENSATING, said, from_outside=True)
        return True

    def record_verification_overdue(self, at: datetime) -> None:
        """No decision reached the waiting task by its deadline (Step Functions' timer, noticed `at`):
        compensate. A no-op once the saga is compensating; a verification recorded in the instant the
        timer fired (Reserve Inventory never ran) counts as overdue too, as the timer decided."""
        if self.verification_decision in ("rejected", "overdue") or self.state not in (
            SagaState.PENDING_VERIFICATION,
            SagaState.PENDING_INVENTORY,
        ):
            return
        if self.state is SagaState.PENDING_INVENTORY and self.verification_decision is None:
            return  # no verification asked for: not this saga's timer
        deadline = self.verification_deadline or at
        reason = f"no pharmacist's decision before the verification deadline ({deadline:%Y-%m-%d %H:%M} UTC)"
        self._emit(
            ev.PrescriptionVerificationOverdue(
                order_id=self.order_id, prescription_id=self._prescription(), deadline_at=deadline, reason=reason
            )
        )
        self._change_state(SagaState.COMPENSATING, reason)

    def _require_waiting(self) -> None:
        if self.state is not SagaState.PENDING_VERIFICATION:
            raise IllegalTransition(f"saga {self.order_id} is {self.state}: it is not waiting for a pharmacist")

    def _prescription(self) -> str:
        if self.prescription_id is None:
            raise IllegalTransition(f"saga {self.order_id} has no prescription to verify")
        return self.prescription_id

    # --- cancellation ---------------------------------------------------------------------

    def request_cancellation(self, reason: str, *, requested_by: str, from_outside: bool = True) -> bool:
        """Stop and undo the completed steps (True), or record why the cancellation changes nothing (False):
        after the shipment is out, once the saga ended, or while it is already undone for a failure.
        Before its order came, the cancellation is kept (True): the order then ends CANCELLED at once."""
        why = self._why_not_cancellable()
        if why is not None:
            self._emit(
                ev.CancellationRefused(
                    order_id=self.order_id,
                    reason=reason,
                    reason_from_outside=from_outside,
                    requested_by=requested_by,
                    why=why,
                )
            )
            return False
        self._emit(
            ev.CancellationRequested(
                order_id=self.order_id, reason=reason, reason_from_outside=from_outside, requested_by=requested_by
            )
        )
        if self.exists:
            self._change_state(SagaState.COMPENSATING, reason, from_outside=from_outside)
        return True

    def _why_not_cancellable(self) -> str | None:
        if self.cancellation is not None:
            return "a cancellation was accepted already"
        match self.state:
            case SagaState.COMPLETED:
                return "the shipment is out: the saga completed"
            case SagaState.FAILED | SagaState.REJECTED | SagaState.CANCELLED:
                return f"the saga already ended {self.state}"
            case SagaState.COMPENSATING | SagaState.COMPENSATION_FAILED:
                return "the saga already failed and its completed steps are being undone"
            case _:
                return None  # under way, or no order yet (the cancellation is kept for it)

    def record_inventory_reserved(self, reservation_id: str) -> None:
        if Step.RESERVE_INVENTORY in self.completed_steps:
            return
        self._require(Step.RESERVE_INVENTORY)
        self._emit(
            ev.InventoryReserved(order_id=self.order_id, reservation_id=reservation_id, medications=self.medications)
        )
        self._change_state(SagaState.PENDING_SHIPMENT)

    def record_shipment_initiated(self, shipment_id: str, ships_to: str) -> None:
        if Step.INITIATE_SHIPMENT in self.completed_steps:
            return
        self._require(Step.INITIATE_SHIPMENT)
        self._emit(ev.ShipmentInitiated(order_id=self.order_id, shipment_id=shipment_id, ships_to=ships_to))
        self._change_state(SagaState.COMPLETED)
        self._emit(ev.OrderFulfillmentSagaCompleted(order_id=self.order_id))

    def record_step_failed(self, step: Step, reason: str, *, from_outside: bool = False) -> None:
        """A business rule refused the step: record why and start compensating. `from_outside`: the
        reason is the words of the system the step called (the pharmacy's), not the saga's."""
        if self.failed_step is not None:
            return
        self._require(step)
        failure: ev.DomainEvent
        match step:
            case Step.CREATE_PRESCRIPTION:
                failure = ev.PrescriptionRefused(
                    order_id=self.order_id, reason=reason, reason_from_outside=from_outside
                )
            case Step.RESERVE_INVENTORY:
                failure = ev.InventoryReservationRefused(
                    order_id=self.order_id, reason=reason, reason_from_outside=from_outside
                )
            case Step.INITIATE_SHIPMENT:
                failure = ev.ShipmentInitiationRefused(
                    order_id=self.order_id, reason=reason, reason_from_outside=from_outside
                )
        self._emit(failure)
        self._change_state(SagaState.COMPENSATING, reason, from_outside=from_outside)

    def record_compensation(self, compensation: Compensation, *, had_effect: bool, reason: str | None) -> None:
        """Record that a compensation ran; Cancel Order, always last, ends the saga FAILED.

        A compensation may be the first thing to learn that the saga failed (the step
        crashed or timed out instead of refusing): it then moves the saga to COMPENSATING.
        """
        if compensation in self.compensations_done:
            return
        if self.state in PENDING_STATES or self.state is SagaState.COMPENSATION_FAILED:
            self._change_state(SagaState.COMPENSATING, reason)
        elif self.state is not SagaState.COMPENSATING:
            raise IllegalTransition(f"saga {self.order_id} is {self.state}: nothing to compensate")
        # What the saga announced made is announced undone once its undo went through, whether this call
        # or an earlier attempt of it did the work: a retry after a lost answer finds it undone already
        # (had_effect False), yet subscribers told of the prescription must hear of its cancellation.
        if compensation is Compensation.CANCEL_PRESCRIPTION and self.prescription_id:
            self._emit(ev.PrescriptionCancelled(order_id=self.order_id, prescription_id=self.prescription_id))
        if compensation is Compensation.CANCEL_SHIPMENT and had_effect:
            self._emit(ev.ShipmentCancelled(order_id=self.order_id, shipment_id=rules.shipment_id(self.order_id)))
        if compensation is Compensation.RELEASE_INVENTORY and self.reservation_id:
            self._emit(ev.InventoryReleased(order_id=self.order_id, reservation_id=self.reservation_id))
        outside = self.failure_reason is not None and self.failure_reason_from_outside
        if compensation is Compensation.CANCEL_ORDER and self.cancellation is not None:
            self._end_cancelled(self.cancellation, had_effect)
            return
        if compensation is Compensation.CANCEL_ORDER:
            self._emit(
                ev.OrderCancelled(
                    order_id=self.order_id,
                    reason=self.failure_reason or reason or "failed",
                    reason_from_outside=outside,
                )
            )
        self._emit(ev.CompensationRecorded(order_id=self.order_id, compensation=compensation, had_effect=had_effect))
        if compensation is Compensation.CANCEL_ORDER:
            failure_reason = self.failure_reason or reason or "the saga failed"
            self._emit(
                ev.OrderFulfillmentSagaFailed(
                    order_id=self.order_id,
                    failed_step=self.failed_step.value if self.failed_step else None,
                    reason=failure_reason,
                    reason_from_outside=outside,
                )
            )
            self._change_state(SagaState.FAILED, failure_reason, from_outside=outside)

    def _end_cancelled(self, cancellation: ev.CancellationRequested, had_effect: bool) -> None:
        """The last compensation of a cancelled saga: the order cancelled with the requester's reason."""
        said, outside = cancellation.reason, cancellation.reason_from_outside
        self._emit(ev.OrderCancelled(order_id=self.order_id, reason=said, reason_from_outside=outside))
        self._emit(
            ev.CompensationRecorded(
                order_id=self.order_id, compensation=Compensation.CANCEL_ORDER, had_effect=had_effect
            )
        )
        self._emit(ev.OrderFulfillmentSagaCancelled(order_id=self.order_id, reason=said, reason_from_outside=outside))
        self._change_state(SagaState.CANCELLED, said, from_outside=outside)

    def record_compensation_failed(self, compensation: Compensation, error: str, cause: str | None) -> None:
        if self.state is SagaState.COMPENSATION_FAILED:
            return
        if self.state in PENDING_STATES:
            self._change_state(SagaState.COMPENSATING, error)
        self._emit(ev.CompensationFailed(order_id=self.order_id, compensation=compensation, error=error, cause=cause))
        self._change_state(SagaState.COMPENSATION_FAILED, f"{compensation.console_name} failed: {error}")

    def record_execution_ended(self, status: str) -> bool:
        """The execution ended (timed out, aborted, failed) before the saga finished.

        True when what is left must be compensated; False when the saga had already ended.
        """
        if self.state in PENDING_STATES:
            self._change_state(SagaState.COMPENSATING, f"execution {status}")
            return True
        return self.state is SagaState.COMPENSATING

    def park_unfinished_compensations(self, status: str) -> bool:
        """The compensation execution ended (timed out, aborted, failed) with compensations left:
        the saga is parked for an operator. False when there was nothing left to do."""
        if self.state is not SagaState.COMPENSATING:
            return False
        remaining = self.remaining_compensations
        self.record_compensation_failed(
            remaining[0] if remaining else Compensation.CANCEL_ORDER,
            error=f"CompensationExecution{status.title().replace('_', '')}",
            cause=None,
        )
        return True

    def record_resumed(self, execution_arn: str) -> None:
        if self.state is not SagaState.COMPENSATION_FAILED:
            raise IllegalTransition(f"saga {self.order_id} is {self.state}: only a parked saga can be resumed")
        self._emit(ev.SagaResumed(order_id=self.order_id, execution_arn=execution_arn))
        self._change_state(SagaState.COMPENSATING, "resumed by an operator")

    def _require(self, step: Step) -> None:
        if self.state is not step.pending_state:
            raise IllegalTransition(
                f"saga {self.order_id} is {self.state}: {step.console_name} needs {step.pending_state}"
            )
