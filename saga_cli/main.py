"""The `saga` operator CLI: every read command takes --json; errors are one line, exit code 1."""

from __future__ import annotations

import os
from typing import Annotated
from urllib.parse import urlparse

import typer

from harness.target import StackTarget
from saga_cli import command, load, orders, requests, sagas, serving, stock
from saga_cli.command import operation
from saga_cli.errors import ReportingGroup

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

app = typer.Typer(
    help="Operate the order-fulfillment saga: on the local cloud (--endpoint-url) or a deployed stack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain one-line errors, never a boxed panel
    cls=ReportingGroup,
)
local_app = typer.Typer(help="The local cloud.", no_args_is_help=True, rich_markup_mode=None)
order_app = typer.Typer(help="Orders.", no_args_is_help=True, rich_markup_mode=None)
inventory_app = typer.Typer(help="Stock.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(local_app, name="local")
app.add_typer(order_app, name="order")
app.add_typer(inventory_app, name="inventory")


def _check_endpoint_url(url: str) -> None:
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError:
        parsed = parsed._replace(netloc="")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise typer.BadParameter(
            f"{url!r} is not an endpoint URL (http://HOST:PORT, e.g. http://127.0.0.1:4566)",
            param_hint="--endpoint-url / AWS_ENDPOINT_URL",
        )


@app.callback()
def main(
    endpoint_url: Annotated[
        str | None, typer.Option(envvar="AWS_ENDPOINT_URL", help="A local endpoint, e.g. http://127.0.0.1:4566.")
    ] = None,
    stack: Annotated[str, typer.Option(help="The stack whose outputs name the tables, bus and machines.")] = (
        "OrderFulfillment"
    ),
    region: Annotated[str | None, typer.Option(help="AWS region (default: the profile's; us-east-1 locally).")] = None,
    profile: Annotated[str | None, typer.Option(envvar="AWS_PROFILE", help="AWS profile.")] = None,
) -> None:
    """Operate the order-fulfillment saga."""
    if endpoint_url is not None:
        _check_endpoint_url(endpoint_url)
    command.use(StackTarget(stack=stack, endpoint_url=endpoint_url, region=region, profile=profile))


# The commands, one module per group, in the order `saga --help` lists them.
app.command()(serving.demo)
local_app.command("up")(serving.local_up)
app.command("console")(serving.console)
order_app.command("create")(orders.order_create)
app.command()(sagas.status)
app.command("list")(sagas.list_sagas)
app.command()(sagas.stats)
app.command()(sagas.history)
app.command()(sagas.replay)
inventory_app.command("show")(stock.inventory_show)
# A negative quantity is the argument it looks like (refused by min=0), not an unknown option.
inventory_app.command("set", context_settings={"ignore_unknown_options": True})(stock.inventory_set)
app.command()(sagas.resume)
app.command()(sagas.redrive)
app.command()(load.load)

# `saga prescription verify|reject`, `saga order cancel`: their own module (saga_cli/requests.py)
requests.register(app, order_app, command.target, operation)
