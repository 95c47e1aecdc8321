"""A standalone console outlives the `saga local up` it points at: a plain page while it is down, itself again after.

Issue 26, item 5: once the endpoint stopped, every page was a bare "Internal Server Error" with a
traceback in the terminal, and after a restart the console answered 500 for good, its table names
and queue URLs read once and kept.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import harness.inprocess
from harness.inprocess import InProcess
from harness.target import StackTarget
from localcloud.deploy import CloudAssembly
from saga_cli import local
from saga_console.app import create_app
from saga_console.following import FollowedTarget, follow
from saga_console.serve import console_server, running, url_of
from tests.e2e.helpers import order
from tests.localcloud.pins import moto_own


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def _serve_once(port: int, while_ready: Callable[[dict[str, str]], None]) -> None:
    """`saga local up` on `port` (in this, the main thread: it takes the signals) until `while_ready`,
    called with the stack's outputs once it is ready, returns; then stopped."""
    stop = threading.Event()

    def ready(endpoint: str, outputs: dict[str, str]) -> None:
        try:
            while_ready(outputs)
        finally:
            stop.set()

    local.serve("127.0.0.1", port, fault_injection=True, ready=ready, notice=print, stop=stop)


def test_the_console_says_its_endpoint_is_down_then_follows_it_to_a_restarted_stack_with_other_names(
    assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a standalone console (as `saga console --endpoint-url`) against a `saga local up`
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the gate's 503 answered at once, not retried for seconds
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = console_server(StackTarget(endpoint_url=url, region="us-east-1"), "127.0.0.1", 0)
    operations = url_of(server) + "operations"
    caplog.set_level(logging.ERROR)
    monkeypatch.setattr(local, "synthesize", lambda fault_injection, context: assembly)
    pages: dict[str, tuple[int, str, dict[str, str]]] = {}
    outputs: list[dict[str, str]] = []

    def look(when: str) -> Callable[[dict[str, str]], None]:
        def at(deployed: dict[str, str]) -> None:
            outputs.append(deployed)
            pages[when] = _get(operations)  # reads the stack's outputs: queues, the inventory table

        return at

    with running(server):
        _serve_once(port, look("first"))
        status, page, _ = pages["first"]
        assert status == 200, page

        # When the endpoint stops, the page says so plainly
        status, page, headers = _get(operations)
        assert status == 503
        assert f"the local cloud at {url} does not answer" in page
        assert int(headers["Retry-After"]) > 0
        assert "Traceback" not in page

        # and while a restarted endpoint deploys, that it is not serving the stack yet
        real = harness.inprocess.deployed

        @contextmanager
        def watched(deployed: CloudAssembly, **cloud: Any) -> Iterator[Any]:
            pages["deploying"] = _get(operations)
            with real(deployed, **cloud) as target:
                yield target

        monkeypatch.setattr(local, "deployed", watched)
        # The restarted stack's resources have other names than before (moto's own, drawn at random):
        # the console must read the outputs again, not keep the first ones
        with moto_own("cloudformation.parsing.generate_resource_name"):
            _serve_once(port, look("restarted"))
        assert outputs[1]["InventoryTableName"] != outputs[0]["InventoryTableName"]
        status, page, _ = pages["restarted"]
        assert status == 200, page
        status, page, _ = pages["deploying"]
        assert status == 503
        assert "not serving stack" in page

    # Then no request printed a traceback or an error line
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_resource_gone_under_the_console_is_said_plainly_and_the_console_reads_the_stack_again(
    cloud: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a console whose stack was replaced while it was not looking (a restart between two pages)
    caplog.set_level(logging.ERROR)
    client = follow(create_app(FollowedTarget(cloud))).test_client()
    assert client.get("/console/operations").status_code == 200
    dynamodb = cloud.client("dynamodb")
    table = cloud.outputs["InventoryTableName"]
    described = dynamodb.describe_table(TableName=table)["Table"]
    dynamodb.delete_table(TableName=table)

    # When a page reads the table the outputs named, the page says what is missing, not a 500
    gone = client.get("/console/operations")
    assert gone.status_code == 503
    assert "no longer has a resource its stack named (ResourceNotFoundException)" in gone.text

    # Then, the table back (as a restart with the same names brings it), the page is whole again
    dynamodb.create_table(
        TableName=table,
        KeySchema=described["KeySchema"],
        AttributeDefinitions=described["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    assert client.get("/console/operations").status_code == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_saga_page_draws_the_machine_as_deployed_now_not_as_first_read(cloud: InProcess) -> None:
    # Given a saga's page drawn once
    cloud.put_order(order("redrawn", "med-1"))
    cloud.wait_for_sagas(["redrawn"])
    client = create_app(cloud).test_client()
    assert "Audit Trail" not in client.get("/console/sagas/redrawn").text

    # When the stack is deployed again with a changed machine under the same ARN (its name is the
    # same on every deployment: on AWS an update keeps it, locally a restart does)
    sfn, arn = cloud.client("stepfunctions"), cloud.outputs["StateMachineArn"]
    machine = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    machine["States"]["Audit Trail"] = {"Type": "Pass", "End": True}
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(machine))

    # Then the page draws the machine as it is now
    assert "Audit Trail" in client.get("/console/sagas/redrawn").text
