"""An overdue verification stays on the saga's stream even when undoing the prescription fails.

Found by the requests chaos run (harness/chaos/requests.py, 500 sagas): the timer fired, Cancel
Prescription failed on every attempt, and the saga was parked with no PrescriptionVerificationOverdue:
its stream no longer said why it was undone, and once resumed it would end FAILED for another reason
than the deadline (issue 25: no answer by the deadline ends the saga FAILED as overdue).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lambdas.domain import events as ev
from lambdas.domain.errors import InjectedPermanentFault
from lambdas.domain.order import OrderCreated
from lambdas.domain.states import Compensation, SagaState
from lambdas.logic import saga_steps
from lambdas.logic.faults import FaultInjector
from lambdas.logic.saga_steps import Invocation
from tests.fakes import FakeServices

TIMED_OUT = {"Error": "States.Timeout", "Cause": "the task timed out"}
"""What Verify Prescription's Catch hands the compensation when its deadline passes (infra/saga_workflow.py)."""


def test_an_overdue_saga_parked_by_a_failing_undo_keeps_its_verdict() -> None:
    # Given a saga waiting for a pharmacist, and a Cancel Prescription that fails whatever the attempt
    plan = {"seed": 1, Compensation.CANCEL_PRESCRIPTION.value: {"permanent": 1.0}}
    services = FakeServices(faults=FaultInjector(load_plan=lambda: plan))
    saga = services.repository.new("o-1")
    order = OrderCreated.model_validate({"order_id": "o-1", "patient_id": "p-1", "medications": ["med-1"]})
    saga.start(order, verification_required=True)
    saga.record_prescription_created("rx-o-1")
    saga.record_verification_requested(datetime.now(UTC) + timedelta(minutes=1440))
    services.repository.save(saga, "execution")
    # When its deadline passes: the undo fails on each attempt, then the saga is parked
    for attempt in range(3):
        with pytest.raises(InjectedPermanentFault):
            saga_steps.compensate(
                services,
                Invocation("o-1", attempt, "execution", TIMED_OUT),
                compensation=Compensation.CANCEL_PRESCRIPTION,
            )
    saga_steps.record_compensation_failure(
        services, Invocation("o-1", 0, "execution", {"Error": InjectedPermanentFault.__name__})
    )
    # Then its stream says it is overdue, once, and the parked saga's failure reason is the deadline's
    stream = [e.to_domain() for e in services.event_store.read("saga-o-1")]
    overdue = [e for e in stream if isinstance(e, ev.PrescriptionVerificationOverdue)]
    assert len(overdue) == 1
    parked = services.repository.load("o-1")
    assert parked.state is SagaState.COMPENSATION_FAILED
    assert parked.verification_decision == "overdue"
    assert parked.failure_reason == overdue[0].reason
