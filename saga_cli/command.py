"""What every `saga` command shares: the stack it works on, its --json flag, and one-line AWS errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from harness.target import StackTarget
from saga_cli.errors import CliError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON.")]

Command = TypeVar("Command", bound=Callable[..., Any])

_LOCALLY = "for a local endpoint, --endpoint-url or AWS_ENDPOINT_URL (`saga local up` prints it)"

_target = StackTarget()


def target() -> StackTarget:
    """The stack the root options named (`saga --stack ... --endpoint-url ...`)."""
    return _target


def use(chosen: StackTarget) -> None:
    """Set by the root callback, before the command runs."""
    global _target
    _target = chosen


def operation(command: Command) -> Command:
    """AWS errors become one line and exit code 1, never a traceback."""

    @functools.wraps(command)
    def reporting(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ClientError as error:
            raise CliError(str(error.response["Error"].get("Message") or error)) from None
        except NoRegionError:
            raise CliError(
                f"no AWS region: pass --region or set AWS_REGION (or a profile's region); {_LOCALLY}"
            ) from None
        except NoCredentialsError:
            raise CliError(f"no AWS credentials: set AWS_PROFILE (or pass --profile); {_LOCALLY}") from None
        except BotoCoreError as error:
            raise CliError(str(error)) from None

    return reporting  # type: ignore[return-value]
