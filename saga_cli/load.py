"""`saga load`: a mix of orders sent at once, every saga waited for, the outcome compared with the mix."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from saga_cli import render
from saga_cli.command import JsonFlag, operation, target

if TYPE_CHECKING:
    from harness.load import Expectation, LoadResult, PlannedOrder

INTERRUPTED = 130
"""The exit code of a command stopped by Ctrl-C, as a shell gives one killed by SIGINT (128 + 2)."""


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
        plan_in_force += target().set_faults(plan, wait=False)
    if prepare_stock:
        loader.prepare_stock(target(), orders)
    # The first orders must meet the new plan, not the one the functions still hold.
    if (wait := plan_in_force - time.monotonic()) > 0:
        if not as_json:
            render.progress(f"waiting {wait:.1f} s for every function to read the new fault plan")
        time.sleep(wait)
    expect: Expectation = loader.as_the_mix_says
    if plan is not None:  # predicted with the plan in force, and the machine that meets it
        from harness.fault_outcomes import machine_of
        from lambdas.logic.faults import parse_plan

        expect = loader.under_faults(parse_plan(plan), machine_of(target()))
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
                target(), planned, concurrency, timeout, on_finished=finished, on_sent=sent, expect=expect
            )
    except loader.LoadInterrupted as stopped:
        if as_json:
            render.emit_json({"interrupted": True, "orders": stopped.planned, "sent": sorted(stopped.sent)})
        else:
            render.load_interrupted(stopped)
        raise typer.Exit(INTERRUPTED) from None
