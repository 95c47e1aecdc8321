"""How the CLI shows things: rich tables for people, plain JSON for machines.

Every value that came from outside (an order sender's ids, reasons and key names, an event's
payload, an AWS message, what the operator typed) reaches the terminal through `untrusted`:
as text, never as Rich markup, with every character that does not print shown escaped. Our own
words and styles are given as Text too: a table cell or a line given a str is read as markup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from harness.told import seconds

if TYPE_CHECKING:
    from harness.demo import Demo, Outcome
    from harness.load import LoadInterrupted

# Tables are read in terminals and in CI logs alike: never narrower than they need.
console = Console(width=None if Console().is_terminal else 160)
errors = Console(stderr=True)

STATE_COLOURS = {
    "COMPLETED": "green",
    "FAILED": "yellow",
    "REJECTED": "magenta",
    "COMPENSATION_FAILED": "red",
    "COMPENSATING": "cyan",
    "PENDING_VERIFICATION": "bright_blue",
    "CANCELLED": "bright_black",
    "ORDER_NOT_RECEIVED": "dark_orange",
}


def escaped(value: str) -> str:
    """`value` with each character that does not print (C0, DEL, C1, bidi overrides, line and
    paragraph separators, unassigned ...) written as its Python escape (`\\x1b`, `\\u202e`), and
    each backslash doubled, so what is shown cannot be an escape sequence nor pass for another."""
    if value.isprintable() and "\\" not in value:
        return value
    return "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii") for c in value)


def untrusted(value: object, style: str = "") -> Text:
    """A value from outside as terminal text: never markup, its control characters escaped."""
    return Text(escaped(str(value)), style=style)


def _state(state: str) -> Text:
    return untrusted(state, STATE_COLOURS.get(state, "blue"))


def _names(names: tuple[str, ...] | list[str], separator: str = ", ") -> Text:
    return untrusted(separator.join(n.replace("_", " ") for n in names) or "—")


def _seconds(value: float | None) -> Text:
    return Text(seconds(value))


def print_whole(table: Table) -> None:
    """Print a table whose no-wrap columns (order ids) are never cut: wider than the console if need be,
    for an id is copied from the screen into the next command (`saga resume ORDER`)."""
    needed = Measurement.get(console, console.options.update_width(10_000), table).minimum
    if needed <= console.width:
        console.print(table)
        return
    width = console.width
    console.width = needed
    try:
        console.print(table, crop=False)
    finally:
        console.width = width


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str) + "\n")


def progress(message: str) -> None:
    errors.print(untrusted(f"… {message}", "dim"))


# --- demo ---------------------------------------------------------------------------------


def demo_json(demo: Demo) -> dict[str, Any]:
    return {
        "runs": [
            {
                "runs_against": run.runs_against,
                "pharmacy_url": run.pharmacy_url,
                "timings_seconds": {k: round(v, 2) for k, v in run.timings.items()},
            }
            for run in demo.runs
        ],
        "outcomes": [
            {
                "runs_against": o.runs_against,
                "scenario": o.scenario.title,
                "order_id": o.scenario.detail["order_id"],
                "state": o.state,
                "expected": o.scenario.expected,
                "as_expected": o.as_expected,
                "steps_completed": list(o.steps),
                "compensations_run": list(o.compensations),
                "refused_by": o.refused_by,
                "reason": o.reason,
                "pharmacy_calls": None
                if o.pharmacy_calls is None
                else [{"operation": c.operation, "status": c.status} for c in o.pharmacy_calls],
                "duration_seconds": o.duration_seconds,
                "executions": o.executions,
            }
            for o in demo.outcomes
        ],
        "timings_seconds": {"total": round(demo.total_seconds, 2)},
    }


def _demo_state(o: Outcome) -> Text:
    return _state(o.state) if o.unexpected is None else untrusted(f"{o.state} ({o.unexpected})", "bold red")


def _refusal(o: Outcome) -> Text:
    """Who refused, in our words, then the reason as received: a pharmacy's is text from outside."""
    if o.refused_by is None:
        return Text("—")
    return Text.assemble(Text(f"{o.refused_by}: ", style="bold"), untrusted(o.reason or ""))


def demo_table(demo: Demo) -> None:
    """One row per scenario and run, each scenario's runs side by side: what differs over HTTP shows."""
    table = Table(title="Order fulfillment saga on the local cloud: built-in tables, then over HTTP")
    columns = ("order", "scenario", "runs against", "final state", "steps done", "compensations run", "refused by")
    for column in (*columns, "duration"):
        table.add_column(column, no_wrap=column in ("order", "runs against", "final state", "duration"))
    for same_scenario in zip(*(run.outcomes for run in demo.runs), strict=True):
        for o in same_scenario:
            table.add_row(
                untrusted(o.scenario.detail["order_id"]),
                untrusted(o.scenario.title),
                untrusted(o.runs_against),
                _demo_state(o),
                _names(o.steps),
                _names(o.compensations, " → "),
                _refusal(o),
                _seconds(o.duration_seconds),
            )
        table.add_section()
    print_whole(table)
    for run in demo.runs:
        if run.pharmacy_url is not None:
            served_by = "the reference pharmacy (pharmacy_reference/), called by every step"
            console.print(untrusted(f"{run.runs_against}: {served_by}"))
    phases = " · ".join(
        f"{run.runs_against}: synthesis and deploy {run.timings['synthesize_and_deploy']:.1f} s, "
        f"sagas {run.timings['sagas']:.1f} s"
        for run in demo.runs
    )
    console.print(untrusted(f"{phases} · total {demo.total_seconds:.1f} s"))


# --- local up -----------------------------------------------------------------------------


def notice(message: str) -> None:
    console.print(Text.assemble(("note:", "yellow"), " ", untrusted(message)), soft_wrap=True)
    console.file.flush()


def local_ready(endpoint: str, outputs: dict[str, str]) -> None:
    table = Table(title="Stack outputs", show_header=False)
    for key, value in outputs.items():
        table.add_row(untrusted(key), untrusted(value))
    console.print(table)
    shown = untrusted(endpoint)
    console.print(
        Text.assemble(
            ("local cloud ready", "bold green"),
            " at ",
            untrusted(endpoint, "bold"),
            " (region us-east-1) — Ctrl-C to stop",
        )
    )
    console.print(
        Text.assemble(
            "  console: ", untrusted(f"{endpoint}/console/", "bold"), " (watch and operate the sagas in a browser)"
        )
    )
    console.print(Text.assemble("  saga --endpoint-url ", shown, " order create --patient-id p-1 -m med-1 -m med-2:2"))
    console.print(Text.assemble("  saga --endpoint-url ", shown, " list --state completed"))
    console.file.flush()


def console_ready(url: str, stack: str) -> None:
    console.print(
        Text.assemble("saga console at ", untrusted(url, "bold"), " for stack ", untrusted(stack), " — Ctrl-C to stop")
    )
    console.file.flush()


def stock(found: dict[str, tuple[int, int]]) -> None:
    table = Table(title="stock")
    for column in ("medication", "available", "reserved"):
        table.add_column(column, justify="left" if column == "medication" else "right")
    for medication, (available, reserved) in found.items():
        table.add_row(untrusted(medication), Text(str(available)), Text(str(reserved)))
    console.print(table)


def stock_set(medication_id: str, available: int) -> None:
    console.print(Text.assemble(untrusted(medication_id), f": available = {available}"))


def sent(order_id: str, event_id: str) -> None:
    console.print(Text.assemble("sent ", untrusted(order_id, "bold"), " (event ", untrusted(event_id), ")"))


def redriven(moved: int) -> None:
    console.print(f"moved {moved} message(s) from the dead-letter queue to the start queue")


# --- load ---------------------------------------------------------------------------------


@contextmanager
def load_bars(total: int, quiet: bool) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """Two bars, (orders sent, sagas finished): the first moves while the orders go out, the second
    as their sagas end; each returned callable advances its bar."""
    if quiet:
        yield (lambda n: None), (lambda n: None)
        return
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors
    ) as bar:
        sent = bar.add_task("orders sent", total=total)
        finished = bar.add_task("sagas finished", total=total)
        yield (lambda n: bar.advance(sent, n)), (lambda n: bar.advance(finished, n))


def load_interrupted(stopped: LoadInterrupted) -> None:
    """How far an interrupted load got, and which orders it sent: their sagas go on without it."""
    errors.print(Text(str(stopped), "bold red"))
    if stopped.sent:
        errors.print(Text.assemble("sent: ", untrusted(" ".join(sorted(stopped.sent)))), soft_wrap=True)
        errors.print(Text("their sagas run on: `saga status ORDER` or `saga list` shows them"))


def load_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"load: {summary['orders']} orders")
    for column in ("final state", "count", "predicted"):
        table.add_column(column, justify="left" if column == "final state" else "right")
    states = sorted(set(summary["final_states"]) | set(summary["predicted_states"]))
    for state in states:
        got, want = summary["final_states"].get(state, 0), summary["predicted_states"].get(state, 0)
        mark = "" if got == want else " ✗"
        table.add_row(_state(state), Text.assemble(str(got), (mark, "red")), Text(str(want)))
    console.print(table)
    latency = summary["latency_seconds"]
    console.print(
        f"throughput {summary['throughput_sagas_per_second']} sagas/s · wall {summary['wall_seconds']} s · "
        f"latency p50 {_seconds(latency['p50'])} · p95 {_seconds(latency['p95'])} · p99 {_seconds(latency['p99'])}"
    )
    if summary["unfinished"]:
        console.print(Text(f"{len(summary['unfinished'])} sagas unfinished", "red"))
