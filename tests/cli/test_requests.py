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
from lambdas.logic.repository import SagaRepository
from saga_cli import main, render
from tests.access import let_service_send
from tests.cli.test_hostile_strings import NASTY, _terminal_safe, shown
from tests.e2e.helpers import order

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
