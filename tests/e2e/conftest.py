"""The end-to-end suite's target: the in-process local cloud (default), a local endpoint, or a deployed stack.

    pytest tests/e2e                                   # in-process, a fresh cloud per test
    pytest tests/e2e --target endpoint                 # a `saga local up` subprocess it starts itself
    pytest tests/e2e --target endpoint --endpoint-url http://127.0.0.1:4566   # one already running
    pytest tests/e2e --target aws --stack NAME         # a deployed stack (AWS_PROFILE, AWS_REGION)

A test that takes `target` reaches the stack through the AWS API only, and runs against every
target; one that takes `cloud` looks inside the local cloud (its functions' errors, refusals,
logs) and runs in-process only. `@pytest.mark.faults` marks a test that needs the fault
injection switch: skipped on a stack deployed without it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.seed import seed
from harness.target import StackTarget, Target
from harness.waiting import poll

ROOT = Path(__file__).resolve().parents[2]
LOCAL_UP_SECONDS = 300.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def remote_target(request: pytest.FixtureRequest) -> Iterator[Target | None]:
    """The one stack every test of a remote run shares (None in-process: each test gets its own)."""
    kind = request.config.getoption("--target")
    if kind == "inprocess":
        yield None
    elif kind == "aws":
        deployed = StackTarget(stack=request.config.getoption("--stack"))
        seed(deployed)  # the medications the tests order (`saga local up` seeds its own)
        yield deployed
    elif url := request.config.getoption("--endpoint-url"):
        yield StackTarget(endpoint_url=url, stack=request.config.getoption("--stack"))
    else:
        yield from _local_up(request.config.getoption("--stack"))


def _local_up(stack: str) -> Iterator[Target]:
    """`saga local up` in a subprocess of its own, with the fault injection switch, until the session ends."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    command = [sys.executable, "-c", "from saga_cli.main import app; app()", "local", "up", "--port", str(port)]
    log = (ROOT / "cdk.out").joinpath(f"local-up-{port}.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--fault-injection"], cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    target = StackTarget(endpoint_url=f"http://127.0.0.1:{port}", stack=stack)
    try:

        def deployed() -> bool | None:
            if server.poll() is not None:
                raise RuntimeError(f"`saga local up` exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                described = target.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
            except Exception:  # not serving yet, or the stack not created yet: ask again
                return None
            return True if described.get("Outputs") else None

        if not poll(deployed, LOCAL_UP_SECONDS, pause=lambda: 0.5):
            raise RuntimeError(
                f"`saga local up` did not deploy within {LOCAL_UP_SECONDS} s:\n{log.read_text()[-3000:]}"
            )
        yield target
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture
def target(remote_target: Target | None, request: pytest.FixtureRequest) -> Iterator[Target]:
    """The stack this test drives through the AWS API; its fault plan is cleared after a remote test."""
    if remote_target is None:
        yield request.getfixturevalue("cloud")
        return
    if request.node.get_closest_marker("faults") and not remote_target.has_fault_injection:
        pytest.skip(f"stack {remote_target.stack} was deployed without the fault injection switch")
    yield remote_target
    if remote_target.has_fault_injection:
        remote_target.set_faults({})


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def unique(run_id: str) -> Callable[[str], str]:
    """An order id of this run: a shared stack keeps every id a run before this one used."""
    return lambda name: f"{name}-{run_id}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--target") == "inprocess":
        return
    in_process_only = pytest.mark.skip(reason="looks inside the local cloud: runs in-process only")
    for item in items:
        if "target" not in getattr(item, "fixturenames", ()):
            item.add_marker(in_process_only)
