"""`saga local up --host` and `saga console --host` off loopback: said plainly, and only with a token."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from saga_cli.main import app
from saga_console.guard import MIN_TOKEN_CHARS, TOKEN_VARIABLE
from saga_console.signatures import ACCESS_KEY_ID
from tests.cli.test_local_up import BIN, _free_port

runner = CliRunner()


def test_saga_console_off_loopback_warns_and_prints_a_token_once() -> None:
    # When the console is asked to serve every address (the stack itself cannot be reached: it stops there)
    result = runner.invoke(
        app,
        ["--endpoint-url", f"http://127.0.0.1:{_free_port()}", "console", "--host", "0.0.0.0", "--port", "0"],
        env={TOKEN_VARIABLE: None},
    )
    # Then it said what it exposes, to whom, and the URL with a fresh token, once
    said = result.stderr
    assert "WARNING: saga console is served beyond this machine, at http://<this machine's address>:" in said
    assert "patient ids" in said
    tokens = re.findall(r"/console/\?token=([A-Za-z0-9_-]+)", said)
    assert len(tokens) == 1
    assert len(tokens[0]) >= MIN_TOKEN_CHARS


def test_a_token_given_too_short_is_refused_before_anything_is_served() -> None:
    result = runner.invoke(
        app, ["local", "up", "--host", "0.0.0.0", "--port", str(_free_port())], env={TOKEN_VARIABLE: "short"}
    )
    assert result.exit_code == 2  # bad usage (docs/operations.md's exit codes): nothing was served
    assert f"{TOKEN_VARIABLE} must be at least {MIN_TOKEN_CHARS} characters" in result.stderr


def test_on_loopback_nothing_is_said_and_no_token_is_made() -> None:
    result = runner.invoke(app, ["--endpoint-url", f"http://127.0.0.1:{_free_port()}", "console", "--port", "0"])
    assert "WARNING" not in result.stderr
    assert "token" not in result.stderr


@pytest.mark.parametrize("allow_actions", [False, True])
def test_saga_local_up_off_loopback_prints_the_credentials_and_serves_this_machine_without_them(
    assembly: object, tmp_path: Path, allow_actions: bool
) -> None:
    # Given saga local up bound to every address (with or without --allow-actions)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE and not k.startswith("AWS_ENDPOINT_URL")}
    errors = tmp_path / "stderr"
    with errors.open("w") as stderr:
        server = subprocess.Popen(
            [str(BIN / "saga"), "local", "up", "--host", "0.0.0.0", "--port", str(port)]
            + (["--allow-actions"] if allow_actions else []),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        try:
            assert server.stdout is not None
            deadline = time.monotonic() + 120
            for line in server.stdout:
                if "local cloud ready" in line:
                    break
                assert time.monotonic() < deadline, "saga local up did not become ready"
            # Then it said what it exposes, with the AWS credential and the console's token, once
            said = errors.read_text()
            assert "WARNING: saga local up (the AWS APIs and the console) is served beyond this machine" in said
            secrets = re.findall(rf"AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=(\S+)", said)
            assert len(secrets) == 1
            assert re.findall(r"/console/\?token=(\S+)", said) == secrets
            # And a client on this machine is answered as on loopback, with any credential
            dynamodb = boto3.client(
                "dynamodb",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            assert dynamodb.list_tables()["TableNames"]
            # And its console offers the actions only when allowed (off loopback they are refused by default)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/console/redrive", timeout=10) as answer:
                page = answer.read().decode()
            assert ('id="confirm"' in page) is allow_actions
            assert ("Actions are refused" in page) is not allow_actions
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.parametrize("origin", ["localhost:3000", "http://localhost:3000/app", "ftp://x"])
def test_allow_origin_takes_origins_only(origin: str) -> None:
    result = runner.invoke(app, ["local", "up", "--allow-origin", origin, "--port", str(_free_port())])
    assert result.exit_code == 2
    assert "--allow-origin takes an origin such as http://localhost:3000" in result.stderr
