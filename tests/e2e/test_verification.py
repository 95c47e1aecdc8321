"""A saga that waits for a pharmacist and can be cancelled, on a stack deployed with
`prescription_verification=pharmacist` (issue 25's "Done when"): each answer and each cancellation
is put on the order bus with boto3, as a pharmacy would."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from harness.inprocess import InProcess
from harness.waiting import poll
from infra.names import OUTPUT_EVENT_BUS
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from tests.e2e.helpers import executions, history, order, records, stock, view
from tests.verifying_stack import DEADLINE_MINUTES, verifying, verifying_assembly, wait_for_state, waiting

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

__all__ = ["verifying", "verifying_assembly"]  # the fixtures, used by name


def put(cloud: InProcess, source: str, detail_type: str, detail: dict[str, Any]) -> None:
    """Put with boto3 as a pharmacy would: source, detail-type and detail as the issue's contract spells them
    (not taken from the code under test)."""
    entry: PutEventsRequestEntryTypeDef = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
    answer = cloud.client("events").put_events(Entries=[{**entry, "EventBusName": cloud.output(OUTPUT_EVENT_BUS)}])
    assert answer["FailedEntryCount"] == 0, answer


def verified(cloud: InProcess, order_id: str, pharmacist: str = "ph-7") -> None:
    put(cloud, "pharmacy.prescriptions", "PrescriptionVerified", {"order_id": order_id, "pharmacist_id": pharmacist})


def rejected(cloud: InProcess, order_id: str, reason: str) -> None:
    detail = {"order_id": order_id, "pharmacist_id": "ph-7", "reason": reason}
    put(cloud, "pharmacy.prescriptions", "PrescriptionRejected", detail)


def cancelled(cloud: InProcess, order_id: str, reason: str) -> None:
    put(cloud, "pharmacy.orders", "OrderCancellationRequested", {"order_id": order_id, "reason": reason})


def of_type(cloud: InProcess, order_id: str, kind: type[ev.DomainEvent]) -> list[Any]:
    return [e for e in (s.to_domain() for s in history(cloud, order_id)) if isinstance(e, kind)]


def test_a_verified_prescription_goes_on_to_complete(verifying: InProcess) -> None:
    waiting(verifying, "rx-ok")
    [requested] = of_type(verifying, "rx-ok", ev.PrescriptionVerificationRequested)
    # The deadline is the configured one after the wait began (unscaled: the saga's own clock).
    [started] = [e for e in executions(verifying) if e["name"] == "rx-ok"]
    waited = (requested.deadline_at - started["startDate"]).total_seconds()
    assert DEADLINE_MINUTES * 60 <= waited <= DEADLINE_MINUTES * 60 + 5
    assert not records(verifying, "Reservations")  # nothing reserved before the pharmacist said yes
    verified(verifying, "rx-ok")
    assert verifying.wait_for_sagas(["rx-ok"]) == {"rx-ok": "COMPLETED"}
    [decision] = of_type(verifying, "rx-ok", ev.PrescriptionVerified)
    assert decision.pharmacist_id == "ph-7"


def test_a_rejected_prescription_is_undone_with_the_pharmacists_reason(verifying: InProcess) -> None:
    before = stock(verifying)
    waiting(verifying, "rx-no")
    rejected(verifying, "rx-no", "interacts with the patient's other medication")
    assert verifying.wait_for_sagas(["rx-no"]) == {"rx-no": "FAILED"}
    row = view(verifying, "rx-no")
    assert row.compensations_run == ("cancel_prescription", "cancel_order")
    assert row.failure_reason == "interacts with the patient's other medication"
    [prescription] = records(verifying, "Prescriptions", "rx-no")
    assert prescription["status"]["S"] == "CANCELLED"
    assert stock(verifying) == before


def test_no_answer_by_the_deadline_undoes_the_prescription(verifying: InProcess) -> None:
    waiting(verifying, "rx-late")
    assert verifying.wait_for_sagas(["rx-late"], timeout=DEADLINE_MINUTES * 60 * 0.001 + 20) == {"rx-late": "FAILED"}
    [overdue] = of_type(verifying, "rx-late", ev.PrescriptionVerificationOverdue)
    row = view(verifying, "rx-late")
    assert row.failure_reason == overdue.reason
    assert "verification deadline" in overdue.reason
    assert row.compensations_run == ("cancel_prescription", "cancel_order")
    # An answer after it changes nothing, and says why.
    verified(verifying, "rx-late")
    poll(lambda: True if of_type(verifying, "rx-late", ev.VerificationAnswerIgnored) else None, 10)
    [ignored] = of_type(verifying, "rx-late", ev.VerificationAnswerIgnored)
    assert ignored.why == "it came after the verification deadline"
    assert view(verifying, "rx-late").state is SagaState.FAILED


def test_a_second_answer_changes_nothing_and_is_kept(verifying: InProcess) -> None:
    waiting(verifying, "rx-twice")
    verified(verifying, "rx-twice")
    assert verifying.wait_for_sagas(["rx-twice"]) == {"rx-twice": "COMPLETED"}
    rejected(verifying, "rx-twice", "changed my mind")
    poll(lambda: True if of_type(verifying, "rx-twice", ev.VerificationAnswerIgnored) else None, 10)
    [ignored] = of_type(verifying, "rx-twice", ev.VerificationAnswerIgnored)
    assert (ignored.decision, ignored.why) == ("rejected", "the prescription was verified already")
    assert view(verifying, "rx-twice").state is SagaState.COMPLETED


def test_a_cancellation_while_waiting_ends_the_saga_cancelled(verifying: InProcess) -> None:
    before = stock(verifying)
    waiting(verifying, "rx-cancel")
    cancelled(verifying, "rx-cancel", "the patient moved pharmacy")
    assert verifying.wait_for_sagas(["rx-cancel"]) == {"rx-cancel": "CANCELLED"}
    row = view(verifying, "rx-cancel")
    assert row.failure_reason == "the patient moved pharmacy"
    assert row.compensations_run == ("cancel_prescription", "cancel_order")
    [prescription] = records(verifying, "Prescriptions", "rx-cancel")
    assert prescription["status"]["S"] == "CANCELLED"
    assert stock(verifying) == before
    [execution] = [e for e in executions(verifying) if e["name"] == "rx-cancel"]
    assert execution["status"] == "ABORTED"
    # The pharmacist's answer after it changes nothing.
    verified(verifying, "rx-cancel")
    poll(lambda: True if of_type(verifying, "rx-cancel", ev.VerificationAnswerIgnored) else None, 10)
    assert view(verifying, "rx-cancel").state is SagaState.CANCELLED


def test_a_cancellation_after_the_shipment_is_refused_and_visible(verifying: InProcess) -> None:
    waiting(verifying, "rx-shipped")
    verified(verifying, "rx-shipped")
    assert verifying.wait_for_sagas(["rx-shipped"]) == {"rx-shipped": "COMPLETED"}
    cancelled(verifying, "rx-shipped", "too late")
    poll(lambda: True if of_type(verifying, "rx-shipped", ev.CancellationRefused) else None, 10)
    [refused] = of_type(verifying, "rx-shipped", ev.CancellationRefused)
    assert refused.why == "the shipment is out: the saga completed"
    assert view(verifying, "rx-shipped").state is SagaState.COMPLETED
    [shipment] = records(verifying, "Shipments", "rx-shipped")
    assert shipment["status"]["S"] == "INITIATED"


def test_a_cancellation_before_its_order_is_kept_and_the_order_then_ends_cancelled(verifying: InProcess) -> None:
    cancelled(verifying, "rx-early", "sent twice by mistake")
    wait_for_state(verifying, "rx-early", SagaState.ORDER_NOT_RECEIVED)
    cancelled(verifying, "rx-early", "sent twice by mistake")  # a duplicate: harmless
    poll(lambda: True if of_type(verifying, "rx-early", ev.CancellationRefused) else None, 10)
    verifying.put_order(order("rx-early", "med-1"))
    assert verifying.wait_for_sagas(["rx-early"]) == {"rx-early": "CANCELLED"}
    assert view(verifying, "rx-early").steps_completed == ()
    assert not [e for e in executions(verifying) if e["name"] == "rx-early"]
    assert not records(verifying, "Prescriptions", "rx-early")


def test_an_answer_for_an_unknown_order_is_kept_with_why(verifying: InProcess) -> None:
    verified(verifying, "rx-nobody")
    wait_for_state(verifying, "rx-nobody", SagaState.ORDER_NOT_RECEIVED)
    [ignored] = of_type(verifying, "rx-nobody", ev.VerificationAnswerIgnored)
    assert ignored.why == "no order was received under this id"


def test_the_task_token_is_in_no_event_log_or_projection(verifying: InProcess) -> None:
    waiting(verifying, "rx-token")
    token = next(
        json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["task_token"]
        for e in verifying.client("stepfunctions").get_execution_history(
            executionArn=next(x["executionArn"] for x in executions(verifying) if x["name"] == "rx-token")
        )["events"]
        if e["type"] == "TaskScheduled" and "task_token" in e["taskScheduledEventDetails"]["parameters"]
    )
    verified(verifying, "rx-token")
    assert verifying.wait_for_sagas(["rx-token"]) == {"rx-token": "COMPLETED"}
    assert token not in json.dumps([s.model_dump(mode="json") for s in history(verifying, "rx-token")])
    assert token not in json.dumps(view(verifying, "rx-token").model_dump(mode="json"))
    assert not [line for line in verifying.local.logs if token in line.text]
