"""The `saga` operator CLI."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

app = typer.Typer(
    help="Operate the order-fulfillment saga: locally (the local cloud) or against a deployed stack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Tables are read in terminals and in CI logs alike: never narrower than they need.
console = Console(width=None if Console().is_terminal else 160)


@app.callback()
def main() -> None:
    """Operate the order-fulfillment saga."""


JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON.")]


def _humanise(names: tuple[str, ...], separator: str = ", ") -> str:
    return separator.join(n.replace("_", " ") for n in names) or "—"


@app.command()
def demo(as_json: JsonFlag = False) -> None:
    """Synthesize, deploy to the local cloud, run the seed's example and one order failing at each step."""
    from saga_cli.demo import run_demo

    def progress(message: str) -> None:
        if not as_json:
            console.print(f"[dim]… {message}[/dim]")

    outcomes, timings = run_demo(progress)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "outcomes": [
                        {
                            "scenario": o.scenario.title,
                            "order_id": o.scenario.detail["order_id"],
                            "state": o.state,
                            "expected": o.scenario.expected,
                            "steps_completed": list(o.steps),
                            "compensations_run": list(o.compensations),
                            "duration_seconds": o.duration_seconds,
                            "executions": o.executions,
                        }
                        for o in outcomes
                    ],
                    "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
                }
            )
        )
    else:
        table = Table(title="Order fulfillment saga on the local cloud")
        for column in ("order", "scenario", "final state", "steps done", "compensations run", "duration"):
            table.add_column(column, no_wrap=column in ("order", "final state", "duration"))
        for o in outcomes:
            colour = "green" if o.as_expected else "red"
            duration = f"{o.duration_seconds:.2f} s" if o.duration_seconds is not None else "—"
            table.add_row(
                o.scenario.detail["order_id"],
                o.scenario.title,
                f"[{colour}]{o.state}[/{colour}]",
                _humanise(o.steps),
                _humanise(o.compensations, " → "),
                duration,
            )
        console.print(table)
        console.print(
            f"synthesis {timings['synthesize']:.1f} s · deploy {timings['deploy']:.1f} s · "
            f"sagas {timings['sagas']:.1f} s · total {timings['total']:.1f} s"
        )
    failed = [o for o in outcomes if not o.as_expected]
    if failed:
        for o in failed:
            typer.echo(
                f"error: {o.scenario.detail['order_id']} ended {o.state}, expected {o.scenario.expected}", err=True
            )
        raise typer.Exit(1)
