"""The `saga` CLI run in-process, as the CLI tests run it: its result, or its --json output read back."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from saga_cli.main import app

runner = CliRunner()


def saga(*args: str) -> Any:
    return runner.invoke(app, list(args))


def saga_json(*args: str) -> Any:
    """The command's --json output; it must succeed."""
    result = saga(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
