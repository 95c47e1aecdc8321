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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from harness.told import note, seconds
from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState

if TYPE_CHECKING:
    from harness.demo import Demo, Outcome
    from harness.execution_path import ExecutionPath, StateRun
    from harness.listing import Listing
    from harness.load import LoadInterrupted
    from harness.queries import ReplayReport, Status

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


# --- sagas --------------------------------------------------------------------------------


def view_json(view: SagaView) -> dict[str, Any]:
    return view.model_dump(mode="json")


def status_json(found: Status) -> dict[str, Any]:
    execution = found.execution
    return {
        "saga": view_json(found.view) if found.view else None,
        "execution": None
        if execution is None
        else {
            "name": execution["name"],
            "status": execution["status"],
            "started_at": execution["startDate"],
            "stopped_at": execution.get("stopDate"),
        },
        "timeline": [_timeline_entry(e) for e in found.events],
        "compensation_failure": None if found.compensation_failure is None else vars(found.compensation_failure),
        "states": [] if found.path is None else [_state_entry(run) for run in _task_runs(found.path)],
        "verification": None if found.verification is None else found.verification.as_json(),
        "cancellation": None if found.cancellation is None else found.cancellation.as_json(),
        "unapplied": [u.as_json() for u in found.unapplied],
        "executions": [
            {
                "kind": e.kind,
                "label": e.label,
                "name": e.name,
                "status": e.status,
                "started_at": e.started_at,
                "stopped_at": e.stopped_at,
                "states": [_state_entry(run) for run in _task_runs(e.path)],
            }
            for e in found.executions
        ],
        "last_did": found.last_did,
    }


def _executions(found: Status) -> None:
    """Every execution of the saga, oldest first, each with its states; then what the last one did."""
    if not found.executions:
        console.print("  execution: none")
        return
    for execution in found.executions:
        console.print(
            Text.assemble(
                f"  {execution.label}: ",
                untrusted(f"{execution.name} {execution.status}"),
                f" at {_at(execution.started_at)}",
            ),
            soft_wrap=True,
        )
        _runs(_task_runs(execution.path))
    if found.last_did:
        console.print(Text.assemble("  last: ", untrusted(found.last_did, "bold")), soft_wrap=True)


def _runs(runs: list[StateRun]) -> None:
    for run in runs:
        error = f" ({run.error})" if run.error else ""
        console.print(
            Text.assemble(
                f"    {run.name:<22} ",
                untrusted(f"{run.outcome.replace('_', ' ')}{error}"),
                f"  attempts {run.attempts}  ",
                untrusted(run.via),
            ),
            soft_wrap=True,
        )


def _task_runs(path: ExecutionPath) -> list[StateRun]:
    """The states that ran a function (attempts), in the order entered."""
    return [run for name in path.order if (run := path.runs[name]).attempts]


def _state_entry(run: StateRun) -> dict[str, Any]:
    return {
        "name": run.name,
        "outcome": run.outcome,
        "attempts": run.attempts,
        "error": run.error,
        "system": run.system,
        "calls": [str(call) for call in run.calls],
    }


def _timeline_entry(event: StoredEvent) -> dict[str, Any]:
    return {"at": event.occurred_at.isoformat(), "version": event.version, "type": event.type, "note": note(event)}


def status(found: Status) -> None:
    view = found.view
    if view is not None:
        console.print(
            Text.assemble(
                untrusted(view.order_id, "bold"), "  ", _state(view.state.value), "  ", _seconds(view.duration_seconds)
            )
        )
        console.print(Text.assemble("  steps done: ", _names(view.steps_completed)))
        console.print(Text.assemble("  compensations run: ", _names(view.compensations_run, " → ")))
        if view.failure_reason:
            console.print(Text.assemble("  reason: ", untrusted(view.failure_reason)))
        if view.conflicting_orders:
            console.print(
                Text.assemble(
                    ("  conflicting orders: ", "yellow"),
                    untrusted(view.conflicting_orders, "yellow"),
                    " (different orders under this id, recorded and not started: see the timeline)",
                )
            )
    else:
        console.print(Text("not in the projection yet", "yellow"))
    _executions(found)
    if (failure := found.compensation_failure) is not None:
        tries = "" if failure.attempts is None else f" after {failure.attempts} attempts"
        console.print(
            Text.assemble(
                "  ",
                ("parked", "red"),
                ": ",
                _names([failure.compensation]),
                f" failed{tries} in ",
                untrusted(failure.execution),
                ": ",
                untrusted(failure.error),
            ),
            soft_wrap=True,
        )
        if failure.cause:  # a handler's message can be in it: untrusted like the rest
            console.print(Text.assemble("    cause: ", untrusted(failure.cause)), soft_wrap=True)
    _verification_and_requests(found)
    history(found.events, title="timeline")


def _utc(value: datetime) -> datetime:
    # A time without a zone is UTC here (every time the stack records is); astimezone would take it as local.
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _at(value: datetime) -> str:
    """A time as every CLI line shows it: in UTC, saying so (`2026-12-07 05:52:39 UTC`)."""
    return f"{_utc(value):%Y-%m-%d %H:%M:%S} UTC"


def _at_ms(value: datetime) -> str:
    """`_at` to the millisecond, for events that follow each other closely (`2026-12-07 05:52:39.123 UTC`)."""
    return f"{_utc(value):%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC"


def _verification_and_requests(found: Status) -> None:
    """The wait for a pharmacist, the cancellation accepted, and each request that changed nothing with why:
    pharmacist ids and reasons are what a pharmacy or an operator typed, shown as untrusted text."""
    if (wait := found.verification) is not None:
        console.print(
            Text.assemble("  verification: requested ", _at(wait.requested_at), ", deadline ", _at(wait.deadline_at)),
            soft_wrap=True,
        )
        if wait.decision is None:
            waiting = found.view is not None and found.view.state is SagaState.PENDING_VERIFICATION
            console.print(
                Text("    waiting for a pharmacist" if waiting else "    no decision recorded", "bright_blue")
            )
        else:
            line = Text.assemble("    ", (wait.decision, "bold"))
            if wait.pharmacist_id is not None:
                line.append_text(Text.assemble(" by ", untrusted(wait.pharmacist_id, "bold")))
            if wait.decided_at is not None:
                line.append(f" at {_at(wait.decided_at)}")
            if wait.reason:
                line.append_text(Text.assemble(": ", untrusted(wait.reason)))
            console.print(line, soft_wrap=True)
    if (cancelled := found.cancellation) is not None:
        console.print(
            Text.assemble(
                "  cancellation accepted at ",
                _at(cancelled.at),
                " from ",
                untrusted(cancelled.requested_by),
                ": ",
                untrusted(cancelled.reason),
            ),
            soft_wrap=True,
        )
    for request in found.unapplied:
        console.print(
            Text.assemble(
                ("  changed nothing: ", "yellow"),
                untrusted(request.what),
                " by ",
                untrusted(request.by),
                " at ",
                _at(request.at),
                " — ",
                untrusted(request.why),
            ),
            soft_wrap=True,
        )


def resumed(result: dict[str, Any]) -> None:
    still = "" if result["finished"] else " (its compensations are still running)"
    console.print(
        Text.assemble(
            untrusted(result["order_id"]),
            ": resumed as ",
            untrusted(result["execution"]),
            " → saga ",
            _state(result["state"]),
            f"{still}; compensations run: ",
            _names(result["compensations_run"], " → "),
        ),
        soft_wrap=True,
    )
    if (again := result.get("parked_again")) is not None:
        tries = "" if again["attempts"] is None else f" after {again['attempts']} attempts"
        line = Text.assemble("  ", ("parked again", "red"), ": ", _names([again["compensation"]]), f" failed{tries}: ")
        line.append_text(untrusted(again["error"]))
        if again["cause"]:
            line.append_text(Text.assemble(" — ", untrusted(again["cause"])))
        console.print(line, soft_wrap=True)


def history(events: list[StoredEvent], title: str = "event stream") -> None:
    table = Table(title=title)
    for column in ("#", "at", "type", "note"):
        table.add_column(column)
    for event in events:
        table.add_row(
            Text(str(event.version)),
            Text(_at_ms(event.occurred_at)),
            untrusted(event.type),
            untrusted(note(event)),
        )
    console.print(table)


def shown(found: Listing, title: str) -> str:
    """`failed sagas (3)`, or, when the limit left some out, `failed sagas: 50 of 171 shown (--limit 50)`."""
    if found.cut:
        return f"{title}: {len(found.views)} of {found.total} shown (--limit {found.limit})"
    return f"{title} ({len(found.views)})"


def views(found: list[SagaView], title: str) -> None:
    table = Table(title=untrusted(title))  # the title repeats what the operator typed
    for column in ("order", "state", "updated", "duration", "steps done", "compensations", "reason"):
        table.add_column(column, no_wrap=column == "order")
    for view in found:
        table.add_row(
            untrusted(view.order_id),
            _state(view.state.value),
            Text(_at(view.updated_at)),
            _seconds(view.duration_seconds),
            Text(str(len(view.steps_completed))),
            _names(view.compensations_run, " → "),
            untrusted(view.failure_reason or ""),
        )
    print_whole(table)


def stats(figures: dict[str, Any]) -> None:
    table = Table(title=f"sagas by state ({figures['total']})")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in figures["by_state"].items():
        table.add_row(_state(state), Text(str(count)))
    console.print(table)
    if figures["conflicting_orders"]:
        console.print(
            Text.assemble(
                (f"{figures['conflicting_orders']} conflicting orders", "yellow"),
                f" recorded on {figures['sagas_with_conflicting_orders']} sagas",
                " (different orders under a used order id)",
            )
        )
    durations = figures["duration_seconds"]
    console.print(
        f"duration of {durations['count']} finished sagas: p50 {_seconds(durations['p50'])} · "
        f"p95 {_seconds(durations['p95'])} · p99 {_seconds(durations['p99'])}"
    )


def replay_json(report: ReplayReport) -> dict[str, Any]:
    return {
        "rebuilt": report.rebuilt,
        "identical": report.identical,
        "missing": report.missing,
        "extra": report.extra,
        "different": report.different,
        "applied": report.applied,
    }


def replay(report: ReplayReport) -> None:
    if report.identical:
        console.print(
            Text.assemble(
                ("projection identical", "green"), f" to a replay of the event store ({report.rebuilt} sagas)"
            )
        )
        return
    console.print(Text.assemble(("projection differs", "yellow"), f" from a replay of {report.rebuilt} sagas:"))
    for label, ids in (("missing", report.missing), ("extra", report.extra), ("different", report.different)):
        if ids:
            more = " …" if len(ids) > 20 else ""
            console.print(Text.assemble(f"  {label}: ", untrusted(", ".join(ids[:20])), more))
    console.print("  rewritten from the event store" if report.applied else "  run with --apply to rewrite them")


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
