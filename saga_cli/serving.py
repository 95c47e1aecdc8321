"""`saga demo`, `saga local up` and `saga console`: the commands that run the saga or serve it on this machine."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from saga_cli import render
from saga_cli.command import JsonFlag, operation, target
from saga_cli.errors import CliError, Refused
from saga_console.guard import TOKEN_VARIABLE, Exposure, exposure_notice, parse_origin, token_for

AllowOrigin = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-origin",
        help="An origin (http://host:port) whose web pages may call this listener; repeatable. None by default.",
    ),
]


@operation
def demo(as_json: JsonFlag = False) -> None:
    """Synthesize, deploy to the local cloud, run the seed's example and one order failing at each step:
    on the built-in tables, then with every step calling the reference pharmacy over HTTP."""
    from harness.demo import run_demo

    found = run_demo(None if as_json else render.progress)
    if as_json:
        render.emit_json(render.demo_json(found))
    else:
        render.demo_table(found)
    failed = [o for o in found.outcomes if not o.as_expected]
    if failed:
        raise CliError(
            "; ".join(f"{o.scenario.detail['order_id']} on {o.runs_against}: {o.unexpected}" for o in failed)
        )


@operation
def local_up(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve the AWS APIs on.")] = 4566,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    fault_injection: Annotated[bool, typer.Option(help="Synthesize with the fault injection switch on.")] = False,
    retain_sagas: Annotated[
        int | None,
        typer.Option(min=0, help="Keep the executions, logs and archived events of the last N finished sagas (1000)."),
    ] = None,
    retain_minutes: Annotated[
        float | None,
        typer.Option(min=0, help="...and of the last M minutes (10); what is past either limit is forgotten."),
    ] = None,
    allow_origin: AllowOrigin = None,
    allow_actions: Annotated[
        bool, typer.Option(help="Allow the console's resume and redrive though it is not bound to loopback.")
    ] = False,
    context: Annotated[
        list[str] | None,
        typer.Option("--context", "-c", help="CDK context KEY=VALUE, as `cdk deploy -c` takes it (repeatable)."),
    ] = None,
    pharmacy: Annotated[
        str | None,
        typer.Option(help="'reference': serve the reference pharmacy on 127.0.0.1 and call it over HTTP."),
    ] = None,
) -> None:
    """Serve a local AWS endpoint with the stack deployed and demo data seeded, until Ctrl-C.

    Off loopback (--host) it answers other machines only with a token: SAGA_TOKEN, or one it prints once."""
    from localcloud.retention import Retention
    from saga_cli.local import serve
    from saga_cli.local_context import parse_context

    given = parse_context(context or [])
    exposure = _exposure("saga local up (the AWS APIs and the console)", host, port, allow_origin, aws=True)

    render.progress("synthesizing, deploying and seeding the local cloud")

    def ready(endpoint: str, outputs: dict[str, str]) -> None:
        render.local_ready(endpoint, outputs)

    default = Retention()
    retention = Retention(
        sagas=default.sagas if retain_sagas is None else retain_sagas,
        minutes=default.minutes if retain_minutes is None else retain_minutes,
    )
    serve(
        host,
        port,
        fault_injection=fault_injection,
        ready=ready,
        notice=render.notice,
        retention=retention,
        exposure=exposure,
        allow_actions=allow_actions,
        context=given,
        pharmacy=pharmacy,
    )
    render.progress("stopped")


@operation
def console(
    port: Annotated[int, typer.Option(help="Port to serve the console on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind (actions are refused off loopback).")] = "127.0.0.1",
    allow_actions: Annotated[
        bool, typer.Option(help="Allow resume and redrive though the console is not bound to loopback.")
    ] = False,
    allow_origin: AllowOrigin = None,
) -> None:
    """Serve the web console against this target (--stack, --endpoint-url, --profile) until Ctrl-C.

    Off loopback (--host) it answers other machines only with a token: SAGA_TOKEN, or one it prints once."""
    from saga_console.serve import console_server, url_of

    exposure = _exposure("saga console", host, port, allow_origin, aws=False)
    target().outputs  # noqa: B018 - fail now, in one line, if the stack cannot be reached
    server = console_server(
        target(), host, port, allow_actions=allow_actions, origins=exposure.origins, token=exposure.token
    )
    render.console_ready(url_of(server), target().stack)
    # No line per request, as saga local up: a request line would repeat the token of a first visit.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        render.progress("stopped")
    finally:
        server.server_close()


def _exposure(what: str, host: str, port: int, origins: list[str] | None, *, aws: bool) -> Exposure:
    """Whom a listener answers (saga_console/guard.py); off loopback, said plainly on stderr first."""
    try:
        allowed = tuple(parse_origin(o) for o in origins or ())
        token, generated = token_for(host, os.environ.get(TOKEN_VARIABLE) or None)
    except ValueError as error:
        raise Refused(str(error)) from None
    exposure = Exposure(host, port, allowed, token)
    if token is not None:
        for line in exposure_notice(what, host, port, token, generated, aws=aws):
            render.errors.print(render.untrusted(line, "bold red" if line[0] == "W" else ""), soft_wrap=True)
    return exposure
