"""The saga CLI through Typer's runner, against the local cloud (moto's mock is active in-process)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from harness.inprocess import POISON_MESSAGE_ERRORS, InProcess
from infra import names
from saga_cli.main import app
from tests.cli.invoking import runner, saga, saga_json
from tests.e2e.helpers import order


def test_order_create_then_status_shows_projection_execution_and_timeline(cloud: InProcess) -> None:
    sent = saga_json("order", "create", "--order-id", "c-1", "--patient-id", "p-1", "-m", "med-1", "-m", "med-2:2")
    assert sent["order_id"] == "c-1"
    cloud.wait_for_sagas(["c-1"])
    found = saga_json("status", "c-1")
    assert found["saga"]["state"] == "COMPLETED"
    assert found["execution"]["status"] == "SUCCEEDED"
    assert [t["type"] for t in found["timeline"]][-1] == "order_fulfillment_saga.completed"
    assert all(t["at"] for t in found["timeline"])
    plain = saga("status", "c-1")
    assert plain.exit_code == 0
    assert "COMPLETED" in plain.stdout
    assert "p-1" not in plain.stdout, "the timeline shows no patient data"


def test_list_stats_history_and_inventory(cloud: InProcess) -> None:
    cloud.put_order(order("c-ok", "med-1"))
    cloud.put_order(order("c-fail", "med-scarce"))
    cloud.put_order({"order_id": "c-bad"})
    cloud.wait_for_sagas(["c-ok", "c-fail", "c-bad"])
    assert [v["order_id"] for v in saga_json("list", "--state", "completed")] == ["c-ok"]
    assert [v["order_id"] for v in saga_json("list", "--state", "failed")] == ["c-fail"]
    assert [v["order_id"] for v in saga_json("list", "--state", "rejected")] == ["c-bad"]
    assert saga_json("list", "--state", "pending") == []
    figures = saga_json("stats")
    assert figures["total"] == 3
    assert figures["by_state"]["COMPLETED"] == 1
    assert figures["by_state"]["FAILED"] == 1
    assert figures["duration_seconds"]["count"] == 2
    assert figures["duration_seconds"]["p50"] is not None
    assert [e["version"] for e in saga_json("history", "c-ok")] == list(range(1, 10))
    assert saga("inventory", "set", "med-4", "42").exit_code == 0
    assert saga_json("inventory", "show")["med-4"] == {"available": 42, "reserved": 0}


def test_history_leaves_patient_data_out_of_its_json_unless_asked(cloud: InProcess) -> None:
    cloud.put_order(order("c-private", "med-1"))
    cloud.wait_for_sagas(["c-private"])
    redacted = saga_json("history", "c-private")
    started = redacted[0]
    assert started["redacted"] == ["medications", "order_metadata", "patient_id", "shipping_address"]
    assert set(started["payload"]) == {"order_id", "verification_required"}
    assert "patient-of-c-private" not in json.dumps(redacted)
    assert "med-1" not in json.dumps(redacted)
    full = saga_json("history", "c-private", "--with-patient-data")
    assert full[0]["payload"]["patient_id"] == "patient-of-c-private"
    assert "redacted" not in full[0]
    assert [e["version"] for e in full] == [e["version"] for e in redacted]


def test_replay_reports_identical_then_finds_and_repairs_a_difference(cloud: InProcess) -> None:
    cloud.put_order(order("c-r", "med-1"))
    cloud.wait_for_sagas(["c-r"])
    assert saga_json("replay")["identical"] is True
    cloud.client("dynamodb").update_item(
        TableName=cloud.outputs["SagaTableName"],
        Key={"order_id": {"S": "c-r"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "FAILED"}},
    )
    drifted = saga("replay", "--json")
    assert drifted.exit_code == 1
    assert json.loads(drifted.stdout)["different"] == ["c-r"]
    assert saga_json("replay", "--apply")["applied"] is True
    assert saga_json("replay")["identical"] is True


def test_resume_runs_the_remaining_compensations_of_a_parked_saga(cloud: InProcess) -> None:
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    before = saga_json("inventory", "show")["med-3"]
    cloud.put_order(
        order("c-park", "med-3", shipping_address={"line1": "x", "city": "y", "postal_code": "1", "country": "US"})
    )
    assert cloud.wait_for_sagas(["c-park"]) == {"c-park": "COMPENSATION_FAILED"}
    refused = saga("resume", "c-park")  # the fault is still there: parked again
    assert refused.exit_code == 1
    assert cloud.wait_for_sagas(["c-park"]) == {"c-park": "COMPENSATION_FAILED"}
    cloud.set_faults({})
    resumed = saga_json("resume", "c-park")
    assert resumed["state"] == "FAILED"
    # the remaining compensations, in the saga's reverse order, from the one that had failed
    assert resumed["compensations_run"] == ["release_inventory", "cancel_prescription", "cancel_order"]
    assert "execution_status" not in resumed, "reported in the saga's terms"
    cloud.wait_for_sagas(["c-park"])
    assert saga_json("inventory", "show")["med-3"] == before
    timeline = [t["type"] for t in saga_json("status", "c-park")["timeline"]]
    assert timeline.count("order_fulfillment_saga.resumed") == 2


def test_resume_reports_the_state_the_saga_reached_though_the_projection_lags(cloud: InProcess) -> None:
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(
        order("c-lag", "med-3", shipping_address={"line1": "x", "city": "y", "postal_code": "1", "country": "US"})
    )
    assert cloud.wait_for_sagas(["c-lag"]) == {"c-lag": "COMPENSATION_FAILED"}
    cloud.local.wait_until_idle()
    # From here on the projection stays as it is: as on AWS for the moment its stream takes.
    cloud.local.runtime.replacements[names.handler_path(names.PROJECTOR)] = lambda event, context: {}
    cloud.set_faults({})
    resumed = saga_json("resume", "c-lag")
    assert resumed["compensations_run"] == ["release_inventory", "cancel_prescription", "cancel_order"]
    assert resumed["state"] == "FAILED", "the saga's events say it failed; its projection still says parked"
    assert saga_json("status", "c-lag")["saga"]["state"] == "COMPENSATION_FAILED"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("status", "nobody"), 1, "no saga for order nobody"),
        (("resume", "nobody"), 1, "no saga for order nobody"),
        (("list", "--state", "weird"), 2, "choose one of"),
        (("--stack", "Elsewhere", "stats"), 1, "stack Elsewhere not found"),
        (("order", "create", "--patient-id", "p", "-m", "med-1", "-m", "med-2:two"), 2, "medications.1: the quantity"),
    ],
)
def test_errors_are_one_clear_line_with_the_right_exit_code(
    cloud: InProcess, args: tuple[str, ...], code: int, message: str
) -> None:
    result = saga(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_load_sends_a_mix_and_reports_against_the_prediction(cloud: InProcess, tmp_path: Any) -> None:
    report_file = tmp_path / "load.json"
    mix = "valid=4,no-stock=1,unknown-med=1,undeliverable=1,duplicate=2,invalid=1"
    result = saga("load", "--orders", "20", "--concurrency", "4", "--mix", mix, "--report", str(report_file), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["as_predicted"] is True
    assert summary["final_states"] == summary["predicted_states"] == {"COMPLETED": 12, "FAILED": 6, "REJECTED": 2}
    assert summary["latency_seconds"]["p50"] is not None
    assert summary["throughput_sagas_per_second"] > 0
    assert json.loads(report_file.read_text())["orders"] == 20


def test_load_with_injected_transient_faults_still_ends_as_predicted(cloud: InProcess) -> None:
    # Given functions that have just read the plan in force (none)
    cloud.put_order(order("c-before", "med-1"))
    assert cloud.wait_for_sagas(["c-before"]) == {"c-before": "COMPLETED"}
    # When a load brings a new plan. Deterministic: every saga's first attempts fail, well within
    # the retries (a 50 % draw on each attempt exhausted a compensation's seven tries about once
    # in 128 sagas: flaky).
    plan = json.dumps({"reserve_inventory": {"transient_attempts": 1}, "cancel_order": {"transient_attempts": 2}})
    result = saga("load", "--orders", "8", "--mix", "valid=1,no-stock=1", "--faults", plan, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_predicted"] is True
    # Then every saga of the load met it: each one's first Reserve Inventory failed, each failed
    # saga's first two Cancel Orders too (the functions' old plan did not outlive the wait).
    injected = Counter(e[0] for e in cloud.local.runtime.errors if e[1] == "InjectedTransientFault")
    assert sorted(injected.values()) == [8, 8], injected


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ('{"reserve_inventry": {"transient": 0.5}}', "reserve_inventry: not a step or compensation"),
        ('{"reserve_inventory": {"transient": 2}}', "reserve_inventory.transient: Input should be less than"),
        ("{not json", "not JSON"),
        ("@/nonexistent/plan.json", "cannot read the fault plan"),
    ],
)
def test_load_refuses_a_bad_fault_plan_before_it_changes_anything(cloud: InProcess, plan: str, message: str) -> None:
    parameter = cloud.outputs[names.OUTPUT_FAULT_INJECTION_PARAMETER]
    stock_before = saga_json("inventory", "show")
    result = saga("load", "--orders", "2", "--faults", plan)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert cloud.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"] == "{}"
    assert saga_json("inventory", "show") == stock_before
    events = cloud.client("dynamodb").scan(TableName=cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE], Select="COUNT")
    assert events["Count"] == 0, "no order was sent"


def test_redrive_moves_dead_letters_back_and_a_fixed_order_then_completes_once(cloud: InProcess) -> None:
    # Given a valid order that dead-lettered while something was broken (say, a missing permission)
    dead = cloud.outputs["DeadLetterQueueUrl"]
    body = json.dumps({"detail": order("c-redrive", "med-1")})
    cloud.client("sqs").send_message(QueueUrl=dead, MessageBody=body)
    cloud.client("sqs").send_message(QueueUrl=dead, MessageBody=body)  # and a duplicate of it
    # When the operator redrives after the fix
    assert saga_json("redrive") == {"moved": 2}
    # Then the order completes, once
    assert cloud.wait_for_sagas(["c-redrive"]) == {"c-redrive": "COMPLETED"}
    assert saga_json("redrive") == {"moved": 0}
    assert [v["order_id"] for v in saga_json("list", "--state", "completed")] == ["c-redrive"]


def test_redrive_moves_each_message_once_even_one_that_fails_again_during_the_run(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import SQSBackend

    # Given a dead-lettered message that fails again at once: SQS dead-letters it again, with its id
    dead = cloud.outputs["DeadLetterQueueUrl"]
    dead_name, start_name = dead.rsplit("/", 1)[1], cloud.outputs["StartQueueUrl"].rsplit("/", 1)[1]
    cloud.client("sqs").send_message(QueueUrl=dead, MessageBody="still not json")
    send = SQSBackend.send_message

    def fails_again_at_once(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send(self, queue_name, *args, **kwargs)
        if queue_name == start_name:
            start, dead_letters = self.get_queue(start_name), self.get_queue(dead_name)
            with start._messages_lock:
                start._messages.remove(message)
            dead_letters._messages.append(message)
        return message

    monkeypatch.setattr(SQSBackend, "send_message", fails_again_at_once)
    # When the operator redrives, then it is moved once (not again and again until the limit)
    assert saga_json("redrive") == {"moved": 1}
    attributes = cloud.client("sqs").get_queue_attributes(QueueUrl=dead, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1", "back where it was, for the next fix"


@pytest.mark.allow_errors(*POISON_MESSAGE_ERRORS)
def test_redrive_moves_no_more_than_the_dead_letter_queue_held_even_if_a_message_returns_with_a_new_id(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy
    import uuid

    from moto.sqs.models import SQSBackend

    # Given three poison messages dead-lettered by start_saga (their bodies are not JSON)
    dead, start = cloud.outputs["DeadLetterQueueUrl"], cloud.outputs["StartQueueUrl"]
    dead_name, start_name = dead.rsplit("/", 1)[1], start.rsplit("/", 1)[1]
    for n in range(3):
        cloud.client("sqs").send_message(QueueUrl=start, MessageBody=f"not json {n}")
    cloud.local.wait_until_idle()
    assert _depth(cloud, dead) == 3
    # and an SQS that dead-letters a redriven message again at once, under an id of its own (AWS
    # documents that the enqueue timestamp is kept, not the id)
    send = SQSBackend.send_message

    def fails_again_with_a_new_id(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send(self, queue_name, *args, **kwargs)
        if queue_name == start_name:
            with self.get_queue(start_name)._messages_lock:
                self.get_queue(start_name)._messages.remove(message)
            bounced = copy.copy(message)
            bounced.id = str(uuid.uuid4())
            self.get_queue(dead_name)._messages.append(bounced)
        return message

    monkeypatch.setattr(SQSBackend, "send_message", fails_again_with_a_new_id)
    # When the operator redrives, then it reports what the queue held, not its --limit
    assert saga_json("redrive") == {"moved": 3}
    assert _depth(cloud, dead) == 3, "each one back where it was, for the next fix"


def _depth(cloud: InProcess, queue_url: str) -> int:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.parametrize(
    ("order_id", "line", "field"),
    [
        ("order with spaces", "med-1", "order_id"),
        ("o" * 81, "med-1", "order_id"),  # an execution name: 80 characters at most
        ("ordér-1", "med-1", "order_id"),
        ("order/1", "med-1", "order_id"),
        ("order-ok", "med-1:0", "medications"),
    ],
)
def test_order_create_refuses_locally_what_start_saga_would_reject_and_sends_nothing(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch, order_id: str, line: str, field: str
) -> None:
    from moto.events.models import EventsBackend

    put: list[Any] = []
    put_events = EventsBackend.put_events

    def recording(self: EventsBackend, *args: Any, **kwargs: Any) -> Any:
        put.append(args)
        return put_events(self, *args, **kwargs)

    monkeypatch.setattr(EventsBackend, "put_events", recording)
    result = saga("order", "create", "--order-id", order_id, "--patient-id", "Jane Q Patient", "-m", line)
    assert result.exit_code == 2, result.output
    assert f"{field}" in result.output
    assert "Jane Q Patient" not in result.output, "no field value is echoed (patient data)"
    assert order_id not in result.output
    assert "Traceback" not in result.output
    assert put == [], "nothing was put on the bus"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--endpoint-url", "notaurl", "stats"), "'notaurl' is not an endpoint URL"),
        (("--endpoint-url", "http://127.0.0.1:99999", "stats"), "is not an endpoint URL"),
        (("list", "--state", "completed", "--limit", "-1"), "--limit"),
        (("list", "--state", "completed", "--limit", "0"), "--limit"),
        (("resume", "c-1", "--wait", "-1"), "--wait"),
        (("load", "--timeout", "-5"), "--timeout"),
        (("load", "--report", "/nonexistent/dir/load.json"), "no such directory"),
        (("local", "up", "--port", "99999"), "--port"),
        (("local", "up", "--port", "0"), "--port"),
        (("inventory", "set", "med-1", "-5"), "greater than or equal to 0"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line_before_any_call(args: tuple[str, ...], message: str) -> None:
    result = runner.invoke(app, list(args), env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})  # nothing listens there
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


_NOTHING_CONFIGURED = {
    "AWS_ENDPOINT_URL": None,
    "AWS_REGION": None,
    "AWS_DEFAULT_REGION": None,
    "AWS_PROFILE": None,
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,  # a CI runner's own credentials: not this user's
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_WEB_IDENTITY_TOKEN_FILE": None,
    "AWS_ROLE_ARN": None,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.mark.parametrize(
    ("extra", "missing"), [({}, "no AWS region"), ({"AWS_REGION": "us-east-1"}, "no AWS credentials")]
)
def test_a_shell_without_the_exports_is_told_what_to_set_and_where_the_local_endpoint_goes(
    extra: dict[str, str], missing: str
) -> None:
    # As a user who opened a new terminal and forgot the README's exports
    result = runner.invoke(app, ["status", "order-1"], env={**_NOTHING_CONFIGURED, **extra})
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert said.startswith(f"Error: {missing}")
    assert "AWS_ENDPOINT_URL" in said


def test_a_malformed_medication_line_is_refused_by_its_number_without_echoing_the_medication() -> None:
    result = runner.invoke(
        app,
        ["order", "create", "--patient-id", "p", "-m", "zz-secret-med:-1"],
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},  # nothing listens there: refused before any call
    )
    assert result.exit_code == 2, result.output
    assert "medications.0: the quantity after ':' must be a whole number" in " ".join(result.output.split())
    assert "zz-secret-med" not in result.output


@pytest.mark.parametrize("quantity", ["²", "٣", "1.5", " 2"])
def test_a_quantity_python_would_read_oddly_is_refused_as_not_a_whole_number(quantity: str) -> None:
    result = runner.invoke(
        app,
        ["order", "create", "--patient-id", "p", "-m", f"med-1:{quantity}"],
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    assert result.exit_code == 2, result.output
    assert "must be a whole number" in " ".join(result.output.split())


def test_list_takes_the_state_as_every_screen_prints_it(cloud: InProcess) -> None:
    cloud.put_order(order("c-case", "med-1"))
    cloud.wait_for_sagas(["c-case"])
    assert [v["order_id"] for v in saga_json("list", "--state", "COMPLETED")] == ["c-case"]
    assert [v["order_id"] for v in saga_json("list", "--state", "Compensation_Failed")] == []


def test_demo_runs_its_own_cloud_whatever_endpoint_the_environment_and_config_file_name(tmp_path: Any) -> None:
    # Given the README's export, a service-specific one, and a profile with an endpoint_url, all naming
    # an address where nothing listens
    config = tmp_path / "config"
    config.write_text("[default]\nendpoint_url = http://127.0.0.1:9\nregion = us-east-1\n")
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
        "AWS_CONFIG_FILE": str(config),
    }
    # When the demo runs, then every saga ends as its scenario says, in the demo's own cloud
    result = runner.invoke(app, ["demo", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert {o["state"] for o in json.loads(result.stdout)["outcomes"]} == {"COMPLETED", "FAILED", "REJECTED"}


def test_status_of_a_parked_saga_names_the_failing_compensation_its_error_and_its_attempts(cloud: InProcess) -> None:
    cloud.set_faults({"release_inventory": {"permanent": 1.0}})
    cloud.put_order(
        order("c-parked", "med-3", shipping_address={"line1": "x", "city": "y", "postal_code": "1", "country": "US"})
    )
    assert cloud.wait_for_sagas(["c-parked"]) == {"c-parked": "COMPENSATION_FAILED"}
    failure = saga_json("status", "c-parked")["compensation_failure"]
    # The README: a compensation retries every error 6 times, then parks the saga - 7 attempts.
    assert (failure["compensation"], failure["attempts"]) == ("release_inventory", 7)
    assert failure["error"] == "InjectedPermanentFault", "the fault the plan injects"
    assert failure["execution"] == "c-parked"
    plain = saga("status", "c-parked").stdout
    assert "release inventory failed after 7 attempts in c-parked: InjectedPermanentFault" in plain
    # and a saga that is not parked has none
    cloud.set_faults({})
    cloud.put_order(order("c-fine", "med-1"))
    cloud.wait_for_sagas(["c-fine"])
    assert saga_json("status", "c-fine")["compensation_failure"] is None


def test_list_never_cuts_an_order_id_however_narrow_the_console(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saga_cli import render

    ids = [f"load-39fe5c-{letter * 68}" for letter in "ab"]  # 80 characters, the longest an order id may be
    for order_id in ids:
        cloud.put_order(order(order_id, "med-1"))
    cloud.wait_for_sagas(ids)
    monkeypatch.setattr(render.console, "width", 60)
    shown = saga("list", "--state", "completed").stdout
    for order_id in ids:
        assert order_id in shown, shown


KEY_CANARY = "KEYCANARY Jane Doe DOB 1970-01-01 HIV+"
"""Issue 23: a key named like a diagnosis went onto the domain bus and into `saga status`."""


def test_an_order_whose_key_names_are_markup_escapes_or_patient_data_leaves_every_command_working(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from saga_cli import render
    from tests.e2e.helpers import published

    # Given an order whose unknown keys are Rich markup, an OSC 8 link, an OSC title and a diagnosis
    keys = ["[/bold]", "[link=https://evil.example][blink red]x[/link]", "\x1b]0;pwned\x07", KEY_CANARY]
    cloud.put_order(order("c-hostile", "med-1") | dict.fromkeys(keys, 1))
    assert cloud.wait_for_sagas(["c-hostile"]) == {"c-hostile": "REJECTED"}
    # When the operator looks at it in a terminal, colour on
    monkeypatch.setattr(render, "console", Console(force_terminal=True, color_system="truecolor", width=200))
    assert "c-hostile" in saga("list", "--state", "rejected").stdout
    for args in (("list", "--state", "rejected"), ("status", "c-hostile"), ("history", "c-hostile")):
        result = saga(*args)
        # Then every command works and shows the saga, its reasons naming no key of the client's
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert "<key>: is not a field of the order" in result.stdout
        assert "KEYCANARY" not in result.output
        assert "\x1b]" not in result.output
    # and the key name reached neither the domain bus nor a log line
    cloud.local.wait_until_idle()
    events = published(cloud)
    assert [e["detail"]["payload"]["reasons_total"] for e in events if e["detail-type"].endswith(".rejected")] == [4]
    assert "KEYCANARY" not in json.dumps(events)
    assert len(cloud.local.logs) > 3, "the functions logged: the check below is not vacuous"
    assert not [line.text for line in cloud.local.logs if "KEYCANARY" in line.text]
