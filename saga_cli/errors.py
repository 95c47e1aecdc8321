"""How the CLI reports a failure: one line (`Error: ...`), exit code 1, or 2 for bad usage."""

from __future__ import annotations

# typer (pinned) vendors click; its commands only turn *its* ClickException into "Error: ..." + exit 1.
from typer._click.exceptions import ClickException

from harness.errors import HarnessError
from saga_cli.render import escaped


class CliError(ClickException):
    """A failure reported as one line (`Error: ...`) with exit code 1.

    Its message may quote what came from outside (an order id typed or read, an AWS message):
    click writes it to stderr as it is, so its control characters are shown escaped."""

    def format_message(self) -> str:
        return escaped(self.message)


class Refused(CliError):
    """What the system would refuse, refused before anything is sent: bad usage, exit code 2."""

    exit_code = 2


def reported(error: HarnessError) -> CliError:
    """The harness's failure as the CLI reports it, with the harness's exit code."""
    return Refused(str(error)) if error.exit_code == 2 else CliError(str(error))
