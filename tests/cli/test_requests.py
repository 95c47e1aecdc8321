"""`saga prescription verify|reject`, `saga order cancel`: the contract's event on the order bus, what the saga
would refuse refused before sending, and what the saga recorded shown by `saga status`, `list` and `stats`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import lambdas.observability  # noqa: F401 - see below
from harness.inprocess import InProcess
from infra import names
from lambdas.domain.order import OrderCreated
from lambdas.domain.saga import OrderFulfillmentSaga
from lambdas.domain.states import SagaState
from lambdas.logic.repository import SagaRepository
from saga_cli import main, render
from tests.access import let_service_send
from tests.cli.test_hostile_strings import NASTY, _terminal_safe, shown
from tests.e2e.helpers import order
from tests.verifying_stack import STACK, task_token, verifying, verifying_assembly, wait_for_state, waiting

__all__ = ["verifying", "verifying_assembly"]  # fixtures, used by name

runner = CliRunner()
# The functions' logger is made when first imported and keeps the stdout of that moment: imported here, not by a
# function's cold start inside a CliRunner's invoke, whose stdout is closed after it (and the local cloud's
# localcloud/runtime.py `_route_output` then fails every later invocation flushing it: reported, not ours).

# The public contract of issue 25, as the pharmacy reads it (not the code's constants).
REQUEST_PATTERN = {
    "source": ["pharmacy.prescriptions", "pharmacy.orders"],
    "detail-type": ["PrescriptionVerified", "PrescriptionRejected", "OrderCancellationRequested"],
}


def saga(*args: str) -> Any:
    return runner.invoke(main.app, list(args))


def saga_json(*args: str) -> Any:
    result = saga(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def sent_json(*args: str) -> Any:
    """A request's --json answer, whatever the saga recorded of it (the exit code says that)."""
    result = saga(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def listening(cloud: InProcess) -> str:
    """A queue a rule on the stack's order bus sends every answer and cancellation to: its URL."""
    sqs, events = cloud.client("sqs"), cloud.client("events")
    bus = cloud.output(names.OUTPUT_EVENT_BUS)
    url = str(sqs.create_queue(QueueName="requests-seen")["QueueUrl"])
    rule = events.put_rule(Name="requests-seen", EventBusName=bus, EventPattern=json.dumps(REQUEST_PATTERN))
    arn = let_service_send(sqs, url, "events.amazonaws.com", rule["RuleArn"])
    events.put_targets(Rule="requests-seen", EventBusName=bus, Targets=[{"Id": "seen", "Arn": arn}])
    return url


def seen(cloud: InProcess, url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(source, detail-type, detail) of each event the rule delivered, in order."""
    return [(e["source"], e["detail-type"], e["detail"]) for e in map(json.loads, cloud.drain(url))]


def test_each_command_puts_the_contracts_event_on_the_order_bus(cloud: InProcess) -> None:
    url = listening(cloud)
    # When the operator verifies, rejects and cancels (not waiting for the saga)
    verified = sent_json("prescription", "verify", "o-1", "--pharmacist", "ph-1", "--wait", "0")
    rejected = sent_json("prescription", "reject", "o-2", "--pharmacist", "ph-2", "--reason", "allergy", "--wait", "0")
    cancelled = sent_json("order", "cancel", "o-3", "--reason", "patient asked", "--wait", "0")
    # Then each is the event the contract names, by order id only: no token, nothing else
    assert seen(cloud, url) == [
        ("pharmacy.prescriptions", "PrescriptionVerified", {"order_id": "o-1", "pharmacist_id": "ph-1"}),
        (
            "pharmacy.prescriptions",
            "PrescriptionRejected",
            {"order_id": "o-2", "pharmacist_id": "ph-2", "reason": "allergy"},
        ),
        ("pharmacy.orders", "OrderCancellationRequested", {"order_id": "o-3", "reason": "patient asked"}),
    ]
    assert [r["order_id"] for r in (verified, rejected, cancelled)] == ["o-1", "o-2", "o-3"]
    assert all(r["event_id"] for r in (verified, rejected, cancelled))


def test_spaces_around_a_value_are_not_sent_as_the_saga_does_not_keep_them(cloud: InProcess) -> None:
    url = listening(cloud)
    sent_json("prescription", "reject", "o-1", "--pharmacist", " ph-1 ", "--reason", "  allergy\n", "--wait", "0")
    assert seen(cloud, url) == [
        (
            "pharmacy.prescriptions",
            "PrescriptionRejected",
            {"order_id": "o-1", "pharmacist_id": "ph-1", "reason": "allergy"},
        )
    ]


@pytest.mark.parametrize(
    ("command", "refused_field"),
    [
        (("prescription", "verify", "not an id!", "--pharmacist", "ph-1"), "the order id"),
        (("prescription", "verify", "x" * 81, "--pharmacist", "ph-1"), "the order id"),
        (("prescription", "verify", "o-1", "--pharmacist", "   "), "the pharmacist id"),
        (("prescription", "reject", "o-1", "--pharmacist", "ph-1", "--reason", " \t"), "the reason"),
        (("prescription", "reject", "o-1", "--pharmacist", "", "--reason", "allergy"), "the pharmacist id"),
        (("order", "cancel", "o-1", "--reason", ""), "the reason"),
        (("order", "cancel", "--reason", "x" * 1001, "--", "-"), "the reason"),
    ],
)
def test_what_the_saga_would_refuse_is_refused_before_anything_is_sent(
    cloud: InProcess, command: tuple[str, ...], refused_field: str
) -> None:
    url = listening(cloud)
    result = saga(*command)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: nothing sent, the saga would refuse it: "), result.stderr
    assert refused_field in result.stderr
    assert "x" * 81 not in result.stderr, "the refusal names the field, not what was typed"
    assert seen(cloud, url) == []


# --- what the saga recorded, as `saga status`, `list` and `stats` show it -------------------------


def saved(cloud: InProcess, saga_: OrderFulfillmentSaga) -> None:
    SagaRepository(cloud.event_store(), source="tests").save(saga_, causation_id=None)


def waiting_saga(cloud: InProcess, order_id: str, deadline: datetime) -> OrderFulfillmentSaga:
    """A saga as the stack's functions leave it waiting for a pharmacist (appended through the repository)."""
    repository = SagaRepository(cloud.event_store(), source="tests")
    decided = repository.new(order_id)
    decided.start(OrderCreated.model_validate(order(order_id, "med-1")), verification_required=True)
    decided.record_prescription_created(f"rx-{order_id}")
    decided.record_verification_requested(deadline)
    saved(cloud, decided)
    return decided


def test_status_shows_the_wait_for_a_pharmacist_and_each_answer_that_changed_nothing_with_why(
    cloud: InProcess,
) -> None:
    deadline = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    waiting = waiting_saga(cloud, "v-1", deadline)
    # A second answer after a first decided it: kept with the saga's why
    waiting.answer_verification("verified", "ph-1", datetime.now(UTC))
    waiting.answer_verification("rejected", "ph-2", datetime.now(UTC), "too late")
    saved(cloud, waiting)
    cloud.local.wait_until_idle(timeout=10)

    found = saga_json("status", "v-1")
    assert found["verification"]["deadline_at"] == "2031-05-06T07:08:09+00:00"
    assert found["verification"]["decision"] == "verified"
    assert found["verification"]["pharmacist_id"] == "ph-1"
    [ignored] = found["unapplied"]
    assert (ignored["what"], ignored["by"]) == ("rejected", "ph-2")
    assert ignored["why"] == "the prescription was verified already"  # the domain's words for a second answer
    assert "too late" not in json.dumps(found), "an ignored rejection's reason is private"

    plain = saga("status", "v-1")
    assert plain.exit_code == 0, plain.output
    assert "deadline 2031-05-06 07:08:09 UTC" in plain.stdout
    assert "verified by ph-1" in plain.stdout
    assert "changed nothing: rejected by ph-2" in plain.stdout
    assert "the prescription was verified already" in plain.stdout


def test_a_waiting_saga_is_listed_counted_and_its_status_says_it_waits(cloud: InProcess) -> None:
    waiting_saga(cloud, "w-1", datetime.now(UTC) + timedelta(hours=1))
    cloud.local.wait_until_idle(timeout=10)
    assert [v["order_id"] for v in saga_json("list", "--state", "pending_verification")] == ["w-1"]
    assert [v["order_id"] for v in saga_json("list", "--state", "PENDING_VERIFICATION")] == ["w-1"]
    assert [v["order_id"] for v in saga_json("list", "--state", "pending")] == ["w-1"]
    assert saga_json("stats")["by_state"]["PENDING_VERIFICATION"] == 1
    plain = saga("status", "w-1")
    assert "waiting for a pharmacist" in plain.stdout
    listed = saga("list", "--state", "pending_verification")
    assert listed.exit_code == 0
    assert "w-1" in listed.stdout


def test_a_cancelled_saga_is_listed_counted_and_its_cancellation_shown(cloud: InProcess) -> None:
    waiting = waiting_saga(cloud, "x-1", datetime.now(UTC) + timedelta(hours=1))
    waiting.request_cancellation("patient moved away", requested_by="cli")
    saved(cloud, waiting)
    cloud.local.wait_until_idle(timeout=10)
    found = saga_json("status", "x-1")
    assert found["cancellation"]["reason"] == "patient moved away"
    assert found["cancellation"]["requested_by"] == "cli"
    assert "cancellation accepted at" in saga("status", "x-1").stdout


def test_status_shows_what_a_pharmacist_and_the_saga_said_as_text_never_as_a_control_sequence(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "console", Console(force_terminal=True, color_system="truecolor", width=20_000))
    hostile = "".join(NASTY)
    waiting = waiting_saga(cloud, "h-1", datetime.now(UTC) + timedelta(hours=1))
    waiting.answer_verification("rejected", hostile, datetime.now(UTC), hostile)
    waiting.answer_verification("verified", hostile + "2", datetime.now(UTC))
    saved(cloud, waiting)
    result = saga("status", "h-1")
    assert result.exit_code == 0, result.output
    text = _terminal_safe(result.stdout)
    assert f"rejected by {shown(hostile)}" in text
    assert f"changed nothing: verified by {shown(hostile + '2')}" in text


# --- end to end, on a stack whose sagas wait for a pharmacist ----------------------------------------


def on_verifying(*args: str) -> Any:
    return saga("--stack", STACK, *args)


def on_verifying_json(*args: str) -> tuple[int, Any]:
    result = on_verifying(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_verify_applies_then_a_second_answer_is_told_with_the_sagas_why(verifying: InProcess) -> None:
    waiting(verifying, "e-ok")
    token = task_token(verifying, "e-ok")
    # When the pharmacist verifies from the CLI
    code, told = on_verifying_json("prescription", "verify", "e-ok", "--pharmacist", "ph-1")
    # Then the saga applied it, and completes
    assert (code, told["recorded"], told["event"]) == (0, "applied", "order.prescription_verified")
    assert verifying.wait_for_sagas(["e-ok"]) == {"e-ok": "COMPLETED"}
    # And a second answer is recorded, changing nothing, with the saga's why, said in one line
    second = on_verifying("prescription", "reject", "e-ok", "--pharmacist", "ph-2", "--reason", "no")
    assert second.exit_code == 1
    assert second.stdout.count("\n") == 1
    assert "recorded, changed nothing: the prescription was verified already" in second.stdout
    status = on_verifying("status", "e-ok")
    assert "verified by ph-1" in status.stdout
    assert "changed nothing: rejected by ph-2" in status.stdout
    assert token not in status.stdout + json.dumps(told) + second.stdout


def test_reject_applies_and_the_saga_fails_with_the_pharmacists_reason(verifying: InProcess) -> None:
    waiting(verifying, "e-no")
    applied = on_verifying("prescription", "reject", "e-no", "--pharmacist", "ph-1", "--reason", "allergy")
    assert applied.exit_code == 0, applied.output
    assert "e-no: rejection sent" in applied.stdout
    assert "— applied" in applied.stdout
    assert verifying.wait_for_sagas(["e-no"]) == {"e-no": "FAILED"}
    _, found = on_verifying_json("status", "e-no")
    assert (found["verification"]["decision"], found["verification"]["reason"]) == ("rejected", "allergy")


def test_a_waiting_sagas_status_never_shows_its_task_token(verifying: InProcess) -> None:
    waiting(verifying, "e-wait")
    token = task_token(verifying, "e-wait")
    plain = on_verifying("status", "e-wait")
    _, found = on_verifying_json("status", "e-wait")
    assert "waiting for a pharmacist" in plain.stdout
    assert found["verification"]["decision"] is None
    # What the execution does now is wait in Verify Prescription (infra/saga_workflow.py), not create the prescription
    waits_now = "the saga's execution (RUNNING) is running Create Prescription → Verify Prescription"
    assert found["last_did"] == f"{waits_now}: the saga is PENDING_VERIFICATION"
    assert f"last: {waits_now}" in plain.stdout
    assert token not in plain.stdout
    assert token not in json.dumps(found)
    assert token not in on_verifying("history", "e-wait", "--json").stdout


def test_cancel_while_waiting_ends_cancelled_and_after_completion_is_refused_with_why(verifying: InProcess) -> None:
    waiting(verifying, "e-stop")
    code, told = on_verifying_json("order", "cancel", "e-stop", "--reason", "patient asked")
    assert (code, told["recorded"]) == (0, "applied")
    assert verifying.wait_for_sagas(["e-stop"]) == {"e-stop": "CANCELLED"}
    assert [v["order_id"] for v in on_verifying_json("list", "--state", "cancelled")[1]] == ["e-stop"]
    assert on_verifying_json("stats")[1]["by_state"]["CANCELLED"] == 1

    waiting(verifying, "e-done")
    on_verifying_json("prescription", "verify", "e-done", "--pharmacist", "ph-1")
    assert verifying.wait_for_sagas(["e-done"]) == {"e-done": "COMPLETED"}
    refused = on_verifying("order", "cancel", "e-done", "--reason", "too late")
    assert refused.exit_code == 1
    assert "recorded, changed nothing: the shipment is out: the saga completed" in refused.stdout


def test_a_cancellation_before_its_order_is_told_kept_and_listed(verifying: InProcess) -> None:
    code, told = on_verifying_json("order", "cancel", "e-early", "--reason", "sent by mistake")
    assert (code, told["recorded"]) == (0, "kept_for_order")
    wait_for_state(verifying, "e-early", SagaState.ORDER_NOT_RECEIVED)
    assert [v["order_id"] for v in on_verifying_json("list", "--state", "order_not_received")[1]] == ["e-early"]
    assert on_verifying_json("stats")[1]["by_state"]["ORDER_NOT_RECEIVED"] == 1
