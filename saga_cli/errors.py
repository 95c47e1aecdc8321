"""How the CLI reports a failure: one line (`Error: ...`), exit code 1, or 2 for bad usage."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from harness.errors import HarnessError, Refused
from saga_cli.render import escaped

__all__ = ["CliError", "Refused", "ReportingGroup", "reported"]


class CliError(Exception):
    """A failure of the CLI itself (a port it cannot serve on, an AWS error) reported as one line
    (`Error: ...`) with exit code 1; what the system would refuse is the harness's `Refused` (exit 2)."""

    exit_code = 1


def reported(error: HarnessError | CliError) -> NoReturn:
    """Write the failure as one line on stderr, then exit with its code.

    Its message may quote what came from outside (an order id typed or read, an AWS message), so its
    control characters are shown escaped."""
    typer.echo(f"Error: {escaped(str(error))}", err=True)
    raise typer.Exit(error.exit_code)


class ReportingGroup(TyperGroup):
    """The `saga` command group: every command's CliError and HarnessError reported by `reported`
    (typer's public API reports only click's own exceptions, which typer keeps private)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (CliError, HarnessError) as error:
            reported(error)
