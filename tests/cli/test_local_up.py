"""`saga local up` as a user runs it: a process serving an endpoint that boto3, the AWS CLI and saga use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import harness.inprocess
import localcloud.cloud
import localcloud.deploy
from harness.assembly import SynthesisFailed
from harness.errors import NotReady
from harness.target import StackTarget
from harness.waiting import poll
from localcloud.deploy import CloudAssembly
from localcloud.transport import scope_only_authorization
from saga_cli import local

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def endpoint(assembly: object) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port, elsewhere = _free_port(), _free_port()
    # As a user who ran the README's export in this shell too: an endpoint that is not this one
    server = subprocess.Popen(
        [str(BIN / "saga"), "local", "up", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{elsewhere}"},
    )
    deadline = time.monotonic() + 120
    assert server.stdout is not None
    before_ready = []
    for line in server.stdout:
        before_ready.append(line)
        if "local cloud ready" in line:
            assert [n for n in before_ready if "AWS_ENDPOINT_URL" in n] == [
                f"note: serving http://127.0.0.1:{port} itself; AWS_ENDPOINT_URL in this environment is not used here\n"
            ], before_ready
            break
        assert time.monotonic() < deadline, "saga local up did not become ready"
    else:
        pytest.fail(f"saga local up exited early: {server.stderr.read() if server.stderr else ''}")
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        if server.poll() is None:
            server.kill()


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _saga(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "saga"), *args], env=_env(url), capture_output=True, text=True, timeout=60)


def _wait_terminal(url: str, order_id: str) -> dict[str, object]:
    for _ in range(200):
        done = _saga(url, "status", order_id, "--json")
        if done.returncode == 0:
            status = json.loads(done.stdout)
            if status["saga"] and status["saga"]["state"] in {"COMPLETED", "FAILED", "REJECTED"}:
                return dict(status)
        time.sleep(0.1)
    raise AssertionError(f"{order_id} did not finish")


def test_local_up_serves_boto3_the_aws_cli_and_saga_then_stops_cleanly(
    endpoint: tuple[str, subprocess.Popen[str]],
) -> None:
    url, server = endpoint

    # boto3 finds the stack and sends an order
    def client(service: str) -> Any:
        # call-overload: a client of whichever service the test names.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    cloudformation = client("cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName="OrderFulfillment")["Stacks"][0]["Outputs"]
    }
    detail = {"order_id": "boto-1", "patient_id": "p-1", "medications": ["med-1"]}
    events = client("events")
    events.put_events(
        Entries=[
            {
                "Source": "pharmacy.orders",
                "DetailType": "OrderCreated",
                "Detail": json.dumps(detail),
                "EventBusName": outputs["EventBusName"],
            }
        ]
    )
    # the AWS CLI sends another, as the README shows
    entries = json.dumps(
        [
            {
                "Source": "pharmacy.orders",
                "DetailType": "OrderCreated",
                "EventBusName": outputs["EventBusName"],
                "Detail": json.dumps({"order_id": "cli-1", "patient_id": "p-2", "medications": ["med-scarce"]}),
            }
        ]
    )
    sent = subprocess.run(
        [str(BIN / "aws"), "events", "put-events", "--entries", entries],
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["FailedEntryCount"] == 0
    # a truncated body is refused as AWS refuses it, over real HTTP (moto read it as no entries: 200)
    truncated = urllib.request.Request(
        f"{url}/",
        data=b'{"Entries": [',
        method="POST",
        headers={
            "X-Amz-Target": "AWSEvents.PutEvents",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": scope_only_authorization("testing/20260101/us-east-1/events/aws4_request"),
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(truncated, timeout=10)
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["__type"] == "SerializationException"
    # saga watches both
    assert _wait_terminal(url, "boto-1")["saga"]["state"] == "COMPLETED"  # type: ignore[index]  # JSON: an object
    assert _wait_terminal(url, "cli-1")["saga"]["state"] == "FAILED"  # type: ignore[index]  # JSON: an object
    listed = _saga(url, "list", "--state", "completed", "--json")
    assert [v["order_id"] for v in json.loads(listed.stdout)] == ["boto-1"]
    replayed = _saga(url, "replay", "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["identical"] is True
    # the queue URLs of the outputs name this endpoint, so the AWS CLI's sqs commands work as written
    for output in ("StartQueueUrl", "DeadLetterQueueUrl", "DomainEventsQueueUrl"):
        assert outputs[output].startswith(f"{url}/"), outputs[output]
    dead, start = outputs["DeadLetterQueueUrl"], outputs["StartQueueUrl"]

    def aws(*args: str) -> Any:
        # As the README writes them: the AWS CLI v1 sends `sqs` commands to SQS's legacy endpoint
        # unless --endpoint-url is on the command line (AWS_ENDPOINT_URL is not enough for sqs).
        command = [str(BIN / "aws"), "--endpoint-url", url, *args]
        done = subprocess.run(command, env=_env(url), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    def arn(queue_url: str) -> str:
        return str(
            aws("sqs", "get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "QueueArn")["Attributes"][
                "QueueArn"
            ]
        )

    # the README's redrive: a dead-lettered order goes back to the start queue, and its saga runs
    envelope = {
        "source": "pharmacy.orders",
        "detail-type": "OrderCreated",
        "detail": {"order_id": "redriven-1", "patient_id": "p-3", "medications": ["med-1"]},
    }
    aws("sqs", "send-message", "--queue-url", dead, "--message-body", json.dumps(envelope))
    aws("sqs", "start-message-move-task", "--source-arn", arn(dead), "--destination-arn", arn(start))
    assert _wait_terminal(url, "redriven-1")["saga"]["state"] == "COMPLETED"  # type: ignore[index]  # JSON: an object
    [task] = aws("sqs", "list-message-move-tasks", "--source-arn", arn(dead))["Results"]
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 1)
    # the alarms exist, with their actions, as `aws cloudwatch describe-alarms` lists them
    alarms = aws("cloudwatch", "describe-alarms")["MetricAlarms"]
    assert len(alarms) >= 10
    assert all(a["AlarmActions"] == [outputs["AlarmTopicArn"]] for a in alarms)
    name = alarms[0]["AlarmName"]
    aws("cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM", "--state-reason", "test")
    history = aws("cloudwatch", "describe-alarm-history", "--alarm-name", name)["AlarmHistoryItems"]
    assert {h["HistoryItemType"] for h in history} == {"StateUpdate", "Action"}
    # and each function's lines are in the log group the template gives it
    functions = aws("lambda", "list-functions")["Functions"]
    starter = next(f for f in functions if f["Handler"] == "lambdas.handlers.start_saga.handler")
    group = starter["LoggingConfig"]["LogGroup"]
    assert not group.startswith("/aws/lambda/"), "the template's encrypted, retained group"
    lines = [e["message"] for e in aws("logs", "filter-log-events", "--log-group-name", group)["events"]]
    assert any(line.startswith("START RequestId: ") for line in lines)
    assert any('"order handled"' in line for line in lines), "the starter's own structured lines"
    # and it stops cleanly on SIGTERM
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0


def test_local_up_on_a_busy_port_ends_at_once_with_one_line_and_exit_code_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [str(BIN / "saga"), "local", "up", "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 30, "before the synthesis and deployment, not after"
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: cannot serve on 127.0.0.1:{port}: Address already in use"], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "ready" not in done.stdout


def test_local_up_answers_503_while_it_deploys_and_stops_so_no_call_reaches_a_half_made_stack(
    assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto creates a stack's resources lazily: a DescribeStacks during CreateStack created them a
    # second time in the server's thread, and `saga local up` died ("The parameter already exists").
    url = f"http://127.0.0.1:{_free_port()}"
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )

    def answer() -> tuple[int, str]:
        try:
            stacks = cloudformation.describe_stacks()["Stacks"]
        except ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Message"]
        return 200, ",".join(s["StackStatus"] for s in stacks)

    answers: dict[str, tuple[int, str]] = {}
    stop = threading.Event()
    real = harness.inprocess.deployed

    def page() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{url}/console/", timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def creating(*args: Any) -> dict[str, str]:
        answers["creating"] = answer()  # while moto creates the stack's resources, lazily
        return real_create_stack(*args)

    @contextmanager
    def watched(deploying: CloudAssembly, **cloud: Any) -> Iterator[Any]:
        answers["deploying"] = answer()
        answers["console"] = page()
        with real(deploying, **cloud) as target:
            yield target
            answers["stopping"] = answer()  # stop is set; the backends are still whole

    def ready(endpoint: str, outputs: dict[str, str]) -> None:
        answers["ready"] = answer()
        stop.set()

    real_create_stack = localcloud.deploy.create_stack  # LocalCloud.deploy calls it by this name
    monkeypatch.setattr(localcloud.cloud, "create_stack", creating)
    monkeypatch.setattr(local, "synthesize", lambda fault_injection, context: assembly)
    monkeypatch.setattr(local, "deployed", watched)
    local.serve("127.0.0.1", int(url.rsplit(":", 1)[1]), fault_injection=True, ready=ready, notice=print, stop=stop)
    assert answers["deploying"][0] == 503
    assert answers["creating"][0] == 503
    status, shown = answers["console"]
    assert status == 503
    assert "saga local up is deploying the stack" in shown
    assert answers["stopping"][0] == 503
    assert answers["ready"] == (200, "CREATE_COMPLETE")


def _serve_quietly(monkeypatch: pytest.MonkeyPatch, stop: threading.Event, **replaced: Any) -> list[str]:
    """Run `serve` on a free port with some of its parts replaced; what it told `ready`."""
    told: list[str] = []
    for name, replacement in replaced.items():
        monkeypatch.setattr(local, name, replacement)
    local.serve(
        "127.0.0.1",
        _free_port(),
        fault_injection=True,
        ready=lambda endpoint, outputs: told.append(endpoint),
        notice=print,
        stop=stop,
    )
    return told


def test_ctrl_c_while_the_app_synthesizes_stops_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C reaches the CDK app too (one process group): it dies, and synthesis fails of it
    stop = threading.Event()
    deployments: list[object] = []

    def interrupted(fault_injection: bool, context: object) -> CloudAssembly:
        stop.set()
        raise SynthesisFailed("`python app.py` failed:\nKeyboardInterrupt")

    told = _serve_quietly(monkeypatch, stop, synthesize=interrupted, deployed=lambda *a, **k: deployments.append(a))
    assert (told, deployments) == ([], [])


def test_a_synthesis_that_fails_by_itself_is_still_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fault_injection: bool, context: object) -> CloudAssembly:
        raise SynthesisFailed("`python app.py` failed:\nSyntaxError")

    with pytest.raises(SynthesisFailed):
        _serve_quietly(monkeypatch, threading.Event(), synthesize=broken)


def test_ctrl_c_while_the_stack_deploys_stops_without_saying_ready(
    assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()

    @contextmanager
    def interrupted(deploying: CloudAssembly, **cloud: Any) -> Iterator[Any]:
        with harness.inprocess.deployed(deploying, **cloud) as target:
            stop.set()  # the signal handler's doing, while CreateStack ran
            yield target

    told = _serve_quietly(monkeypatch, stop, synthesize=lambda fault_injection, context: assembly, deployed=interrupted)
    assert told == []


def test_a_client_of_an_endpoint_still_deploying_is_told_to_wait_not_that_the_stack_is_missing() -> None:
    gate = local.Gate(lambda environ, start_response: [])  # never opened: still deploying
    port = _free_port()
    server = local.Endpoint("127.0.0.1", port, gate)
    server.start()
    try:
        target = StackTarget(endpoint_url=f"http://127.0.0.1:{port}")
        with pytest.raises(NotReady) as raised:
            _ = target.outputs
    finally:
        server.stop()
    assert "local cloud ready" in str(raised.value)
    assert "not found" not in str(raised.value)


def test_closing_the_gate_waits_for_the_calls_inside_and_refuses_new_ones() -> None:
    inside, finish = threading.Event(), threading.Event()
    done: list[object] = []

    def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("first"):
            inside.set()
            finish.wait(10)
            done.append("the call inside")
        start_response("200 OK", [])
        return [b"ok"]

    def status_of_a_new_call() -> str:
        statuses: list[str] = []
        list(gate({}, lambda status, headers: statuses.append(status)))
        return statuses[0]

    gate = local.Gate(slow)
    gate.open()
    call = threading.Thread(target=gate, args=({"first": True}, lambda *a: None))
    call.start()
    assert inside.wait(10)
    closing = threading.Thread(target=lambda: done.append(("closed", gate.close("stopping"))))
    closing.start()
    assert poll(lambda: status_of_a_new_call() == "503 Service Unavailable" or None, 10), "new calls refused"
    assert done == [], "closing waits while a call is inside"
    finish.set()
    call.join(10)
    closing.join(10)
    assert done == ["the call inside", ("closed", True)], "closing returned once the call inside ended"
