"""The `saga` operator CLI: every read command takes --json; errors are one line, exit code 1."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlparse

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from harness.target import StackTarget
from saga_cli import render, requests
from saga_cli.errors import CliError, Refused, ReportingGroup
from saga_console.guard import TOKEN_VARIABLE, Exposure, exposure_notice, parse_origin, token_for

if TYPE_CHECKING:
    from harness.load import Expectation, LoadResult, PlannedOrder

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

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON.")]
AllowOrigin = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-origin",
        help="An origin (http://host:port) whose web pages may call this listener; repeatable. None by default.",
    ),
]

_target = StackTarget()

Command = TypeVar("Command", bound=Callable[..., Any])


INTERRUPTED = 130
"""The exit code of a command stopped by Ctrl-C, as a shell gives one killed by SIGINT (128 + 2)."""

_LOCALLY = "for a local endpoint, --endpoint-url or AWS_ENDPOINT_URL (`saga local up` prints it)"


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
    global _target
    if endpoint_url is not None:
        _check_endpoint_url(endpoint_url)
    _target = StackTarget(stack=stack, endpoint_url=endpoint_url, region=region, profile=profile)


# --- the local cloud --------------------------------------------------------------------


@app.command()
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


@local_app.command("up")
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


@app.command("console")
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
    _target.outputs  # noqa: B018 - fail now, in one line, if the stack cannot be reached
    server = console_server(
        _target, host, port, allow_actions=allow_actions, origins=exposure.origins, token=exposure.token
    )
    render.console_ready(url_of(server), _target.stack)
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


# --- orders and sagas -------------------------------------------------------------------


def _line(index: int, text: str) -> dict[str, Any] | str:
    """One -m value as the order's line `index`. Its refusal names the line as the order model's
    reasons do (medications.0 ...), not the text: a medication id is the patient's data."""
    medication, _, quantity = text.partition(":")
    if not quantity:
        return medication
    if not (quantity.isascii() and quantity.isdecimal()):
        raise typer.BadParameter(
            f"medications.{index}: the quantity after ':' must be a whole number (MED:QUANTITY)", param_hint="'-m'"
        )
    return {"medication_id": medication, "quantity": int(quantity)}


def _refuse_what_start_saga_would(detail: dict[str, Any]) -> None:
    """Validate with the very model start_saga uses; its reasons name fields, never their values."""
    from pydantic import ValidationError

    from lambdas.domain.order import OrderCreated, validation_reasons

    try:
        OrderCreated.model_validate(detail)
    except ValidationError as invalid:
        raise Refused(f"the order would be rejected, nothing sent: {'; '.join(validation_reasons(invalid))}") from None


@order_app.command("create")
@operation
def order_create(
    patient_id: Annotated[str, typer.Option("--patient-id", help="The patient's id.")],
    medication: Annotated[
        list[str], typer.Option("--medication", "-m", help="MED or MED:QUANTITY; repeat for more lines.")
    ],
    order_id: Annotated[str | None, typer.Option("--order-id", help="Default: a new unique id.")] = None,
    line1: Annotated[str | None, typer.Option(help="Shipping address line 1 (else: the address on file).")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option(help="Two-letter country code.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Put an OrderCreated event on the stack's bus."""
    from harness.sending import put_order

    detail: dict[str, Any] = {
        "order_id": order_id or f"order-{uuid.uuid4().hex[:12]}",
        "patient_id": patient_id,
        "medications": [_line(n, m) for n, m in enumerate(medication)],
    }
    address = {"line1": line1, "city": city, "postal_code": postal_code, "country": country}
    if any(address.values()):
        detail["shipping_address"] = address
    _refuse_what_start_saga_would(detail)
    result = {"order_id": detail["order_id"], "event_id": put_order(_target, detail)}
    if as_json:
        render.emit_json(result)
    else:
        render.sent(result["order_id"], result["event_id"])


@app.command()
@operation
def status(order_id: str, as_json: JsonFlag = False) -> None:
    """One saga: its projection, its execution and the timeline of its events."""
    from harness import queries

    found = queries.status(_target, order_id)
    if as_json:
        render.emit_json(render.status_json(found))
    else:
        render.status(found)


@app.command("list")
@operation
def list_sagas(
    state: Annotated[
        str | None,
        typer.Option(
            help="pending | completed | failed | compensation_failed | rejected, or one saga state; any case "
            "(default: every state)"
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Sagas in a state, or in any state (the seed's monitoring queries); says when --limit leaves some out."""
    from harness import queries
    from harness.listing import listing
    from lambdas.domain.states import SagaState

    if state is None:
        states, title = frozenset(SagaState), "sagas"
    elif (group := state.lower()) in queries.STATE_GROUPS:
        states, title = queries.STATE_GROUPS[group], f"{state} sagas"
    else:
        raise typer.BadParameter(f"{state!r}: choose one of {', '.join(queries.STATE_GROUPS)}", param_hint="--state")
    found = listing(_target, states, limit)
    if as_json:
        render.emit_json([render.view_json(v) for v in found.views])
        if found.cut:  # on stderr: the JSON on stdout stays a plain list
            render.progress(render.shown(found, title))
    else:
        render.views(found.views, render.shown(found, title))


@app.command()
@operation
def stats(as_json: JsonFlag = False) -> None:
    """Counts by state and duration percentiles."""
    from harness import queries

    figures = queries.stats(_target)
    if as_json:
        render.emit_json(figures)
    else:
        render.stats(figures)


@app.command()
@operation
def history(
    order_id: str,
    as_json: JsonFlag = False,
    with_patient_data: Annotated[
        bool, typer.Option(help="In --json, keep the patient data (ids, medications, addresses) in the payloads.")
    ] = False,
) -> None:
    """The saga's event stream, in order (patient data left out unless asked for)."""
    from harness import queries
    from harness.told import event_json

    events = queries.history(_target, order_id)
    if as_json:
        render.emit_json([event_json(e, with_patient_data=with_patient_data) for e in events])
    else:
        render.history(events)


@app.command()
@operation
def replay(
    apply: Annotated[bool, typer.Option(help="Write the rebuilt rows where they differ.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild the projection from the event store and report the differences."""
    from harness import queries

    report = queries.replay_projection(_target, apply)
    if as_json:
        render.emit_json(render.replay_json(report))
    else:
        render.replay(report)
    if not report.identical and not apply:
        raise typer.Exit(1)


@inventory_app.command("show")
@operation
def inventory_show(as_json: JsonFlag = False) -> None:
    """Stock per medication: available and reserved."""
    from harness import seed

    stock = seed.stock(_target)
    if as_json:
        render.emit_json({m: {"available": a, "reserved": r} for m, (a, r) in stock.items()})
    else:
        render.stock(stock)


# A negative quantity is the argument it looks like (refused by min=0), not an unknown option.
@inventory_app.command("set", context_settings={"ignore_unknown_options": True})
@operation
def inventory_set(
    medication_id: str,
    quantity: Annotated[int, typer.Argument(min=0)],
    add_to_catalogue: Annotated[
        str | None,
        typer.Option(
            "--add-to-catalogue",
            metavar="NAME",
            help="A medication not in the catalogue: add it under this name (with --max-per-prescription).",
        ),
    ] = None,
    max_per_prescription: Annotated[
        int | None, typer.Option(min=1, help="With --add-to-catalogue: the most one prescription may ask for.")
    ] = None,
) -> None:
    """Set a medication's available stock (what is reserved stays reserved).

    A medication the catalogue does not list is refused: no order could be prescribed it, so its stock
    would never move. --add-to-catalogue adds it first."""
    from harness import seed

    if add_to_catalogue is not None:
        if max_per_prescription is None or not add_to_catalogue.strip():
            raise Refused("--add-to-catalogue takes a name, and needs --max-per-prescription")
        seed.add_to_catalogue(_target, medication_id, add_to_catalogue.strip(), max_per_prescription)
    elif max_per_prescription is not None:
        raise Refused("--max-per-prescription goes with --add-to-catalogue")
    elif not seed.in_catalogue(_target, medication_id):
        raise Refused(
            f"'{medication_id}' is not in the catalogue, so no order could be prescribed it: nothing set "
            "(to add it: --add-to-catalogue NAME --max-per-prescription N)"
        )
    seed.set_stock(_target, medication_id, quantity)
    render.stock_set(medication_id, quantity)


@app.command()
@operation
def resume(
    order_id: str,
    wait: Annotated[float, typer.Option(min=0, help="Seconds to wait for the compensations to finish.")] = 120.0,
    as_json: JsonFlag = False,
) -> None:
    """Retry the remaining compensations of a COMPENSATION_FAILED saga."""
    from harness import operations
    from lambdas.domain.states import SagaState

    result = operations.resume(_target, order_id, wait)
    if as_json:
        render.emit_json(result)
    else:
        render.resumed(result)
    if result["state"] != SagaState.FAILED.value:
        raise typer.Exit(1)


@app.command()
@operation
def redrive(
    limit: Annotated[int, typer.Option(min=1, help="Move at most this many messages.")] = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Move dead-lettered order messages back to the start queue (after fixing why they failed)."""
    from harness import operations

    moved = operations.redrive(_target, limit)
    if as_json:
        render.emit_json({"moved": moved})
    else:
        render.redriven(moved)


@app.command()
@operation
def load(
    orders: Annotated[int, typer.Option(min=1, help="How many orders.")] = 100,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Senders at once.")] = 8,
    mix: Annotated[str, typer.Option(help="Weights per kind of order.")] = "",
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for every saga to end.")] = 300.0,
    seed: Annotated[int, typer.Option(help="Seed of the order generator.")] = 0,
    prepare_stock: Annotated[
        bool, typer.Option(help="Stock the valid medications, empty the scarce one (as the mix predicts).")
    ] = True,
    report: Annotated[str | None, typer.Option(help="Also write the summary to this JSON file.")] = None,
    faults: Annotated[
        str | None,
        typer.Option(help="A fault plan (JSON, or @file) for a stack synthesized with fault_injection=true."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a mix of orders, wait until every saga ends, and compare with what the mix predicts."""
    from harness import load as loader
    from harness.faults import read_plan

    try:
        weights = loader.parse_mix(mix or loader.DEFAULT_MIX)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--mix") from None
    try:
        plan = None if faults is None else read_plan(faults)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--faults") from None
    if report and not Path(report).resolve().parent.is_dir():
        raise typer.BadParameter(f"{report!r}: no such directory for the report", param_hint="--report")
    planned = loader.plan(orders, weights, run_id=uuid.uuid4().hex[:8], seed=seed)
    plan_in_force = time.monotonic()
    if plan is not None:
        plan_in_force += _target.set_faults(plan, wait=False)
    if prepare_stock:
        loader.prepare_stock(_target, orders)
    # The first orders must meet the new plan, not the one the functions still hold.
    if (wait := plan_in_force - time.monotonic()) > 0:
        if not as_json:
            render.progress(f"waiting {wait:.1f} s for every function to read the new fault plan")
        time.sleep(wait)
    expect: Expectation = loader.as_the_mix_says
    if plan is not None:  # predicted with the plan in force, and the machine that meets it
        from harness.fault_outcomes import machine_of
        from lambdas.logic.faults import parse_plan

        expect = loader.under_faults(parse_plan(plan), machine_of(_target))
    result = _run_load(planned, concurrency, timeout, as_json, expect)
    summary = result.report()
    summary["mix"] = weights
    summary["concurrency"] = concurrency
    if report:
        with open(report, "w") as file:
            json.dump(summary, file, indent=2)
    if as_json:
        render.emit_json(summary)
    else:
        render.load_summary(summary)
    if not result.as_predicted:
        raise typer.Exit(1)


def _run_load(
    planned: list[PlannedOrder], concurrency: int, timeout: float, as_json: bool, expect: Expectation
) -> LoadResult:
    """The load with its bars; interrupted, what it sent is said and the command exits INTERRUPTED."""
    from harness import load as loader

    try:
        with render.load_bars(len(planned), quiet=as_json) as (sent, finished):
            return loader.run_load(
                _target, planned, concurrency, timeout, on_finished=finished, on_sent=sent, expect=expect
            )
    except loader.LoadInterrupted as stopped:
        if as_json:
            render.emit_json({"interrupted": True, "orders": stopped.planned, "sent": sorted(stopped.sent)})
        else:
            render.load_interrupted(stopped)
        raise typer.Exit(INTERRUPTED) from None


# `saga prescription verify|reject`, `saga order cancel`: their own module (saga_cli/requests.py)
requests.register(app, order_app, lambda: _target, operation)
