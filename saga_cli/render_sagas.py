"""How `saga status`, `list`, `stats`, `history`, `replay` and `resume` show the sagas: rich tables for
people, plain JSON for machines. Every value from outside goes through `render.untrusted` (saga_cli/render.py).

Printed on `render.console`, looked up at each call: whoever replaces it (a test, a wider terminal)
replaces it for these too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from harness.told import note
from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState
from saga_cli import render
from saga_cli.render import _names, _seconds, _state, print_whole, untrusted

if TYPE_CHECKING:
    from harness.execution_path import ExecutionPath, StateRun
    from harness.listing import Listing
    from harness.queries import ReplayReport, Status


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
        render.console.print("  execution: none")
        return
    for execution in found.executions:
        render.console.print(
            Text.assemble(
                f"  {execution.label}: ",
                untrusted(f"{execution.name} {execution.status}"),
                f" at {_at(execution.started_at)}",
            ),
            soft_wrap=True,
        )
        _runs(_task_runs(execution.path))
    if found.last_did:
        render.console.print(Text.assemble("  last: ", untrusted(found.last_did, "bold")), soft_wrap=True)


def _runs(runs: list[StateRun]) -> None:
    for run in runs:
        error = f" ({run.error})" if run.error else ""
        render.console.print(
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
        render.console.print(
            Text.assemble(
                untrusted(view.order_id, "bold"), "  ", _state(view.state.value), "  ", _seconds(view.duration_seconds)
            )
        )
        render.console.print(Text.assemble("  steps done: ", _names(view.steps_completed)))
        render.console.print(Text.assemble("  compensations run: ", _names(view.compensations_run, " → ")))
        if view.failure_reason:
            render.console.print(Text.assemble("  reason: ", untrusted(view.failure_reason)))
        if view.conflicting_orders:
            render.console.print(
                Text.assemble(
                    ("  conflicting orders: ", "yellow"),
                    untrusted(view.conflicting_orders, "yellow"),
                    " (different orders under this id, recorded and not started: see the timeline)",
                )
            )
    else:
        render.console.print(Text("not in the projection yet", "yellow"))
    _executions(found)
    if (failure := found.compensation_failure) is not None:
        tries = "" if failure.attempts is None else f" after {failure.attempts} attempts"
        render.console.print(
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
            render.console.print(Text.assemble("    cause: ", untrusted(failure.cause)), soft_wrap=True)
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
        render.console.print(
            Text.assemble("  verification: requested ", _at(wait.requested_at), ", deadline ", _at(wait.deadline_at)),
            soft_wrap=True,
        )
        if wait.decision is None:
            waiting = found.view is not None and found.view.state is SagaState.PENDING_VERIFICATION
            render.console.print(
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
            render.console.print(line, soft_wrap=True)
    if (cancelled := found.cancellation) is not None:
        render.console.print(
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
        render.console.print(
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
    render.console.print(
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
        render.console.print(line, soft_wrap=True)


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
    render.console.print(table)


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
    render.console.print(table)
    if figures["conflicting_orders"]:
        render.console.print(
            Text.assemble(
                (f"{figures['conflicting_orders']} conflicting orders", "yellow"),
                f" recorded on {figures['sagas_with_conflicting_orders']} sagas",
                " (different orders under a used order id)",
            )
        )
    durations = figures["duration_seconds"]
    render.console.print(
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
        render.console.print(
            Text.assemble(
                ("projection identical", "green"), f" to a replay of the event store ({report.rebuilt} sagas)"
            )
        )
        return
    render.console.print(Text.assemble(("projection differs", "yellow"), f" from a replay of {report.rebuilt} sagas:"))
    for label, ids in (("missing", report.missing), ("extra", report.extra), ("different", report.different)):
        if ids:
            more = " …" if len(ids) > 20 else ""
            render.console.print(Text.assemble(f"  {label}: ", untrusted(", ".join(ids[:20])), more))
    render.console.print("  rewritten from the event store" if report.applied else "  run with --apply to rewrite them")
