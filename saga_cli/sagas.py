"""`saga status|list|stats|history|replay|resume|redrive`: what an operator reads of the sagas, and the repairs."""

from __future__ import annotations

from typing import Annotated

import typer

from saga_cli import render, render_sagas
from saga_cli.command import JsonFlag, operation, target


@operation
def status(order_id: str, as_json: JsonFlag = False) -> None:
    """One saga: its projection, its execution and the timeline of its events."""
    from harness import queries

    found = queries.status(target(), order_id)
    if as_json:
        render.emit_json(render_sagas.status_json(found))
    else:
        render_sagas.status(found)


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
    found = listing(target(), states, limit)
    if as_json:
        render.emit_json([render_sagas.view_json(v) for v in found.views])
        if found.cut:  # on stderr: the JSON on stdout stays a plain list
            render.progress(render_sagas.shown(found, title))
    else:
        render_sagas.views(found.views, render_sagas.shown(found, title))


@operation
def stats(as_json: JsonFlag = False) -> None:
    """Counts by state and duration percentiles."""
    from harness import queries

    figures = queries.stats(target())
    if as_json:
        render.emit_json(figures)
    else:
        render_sagas.stats(figures)


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

    events = queries.history(target(), order_id)
    if as_json:
        render.emit_json([event_json(e, with_patient_data=with_patient_data) for e in events])
    else:
        render_sagas.history(events)


@operation
def replay(
    apply: Annotated[bool, typer.Option(help="Write the rebuilt rows where they differ.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild the projection from the event store and report the differences."""
    from harness import queries

    report = queries.replay_projection(target(), apply)
    if as_json:
        render.emit_json(render_sagas.replay_json(report))
    else:
        render_sagas.replay(report)
    if not report.identical and not apply:
        raise typer.Exit(1)


@operation
def resume(
    order_id: str,
    wait: Annotated[float, typer.Option(min=0, help="Seconds to wait for the compensations to finish.")] = 120.0,
    as_json: JsonFlag = False,
) -> None:
    """Retry the remaining compensations of a COMPENSATION_FAILED saga."""
    from harness import operations
    from lambdas.domain.states import SagaState

    result = operations.resume(target(), order_id, wait)
    if as_json:
        render.emit_json(result)
    else:
        render_sagas.resumed(result)
    if result["state"] != SagaState.FAILED.value:
        raise typer.Exit(1)


@operation
def redrive(
    limit: Annotated[int, typer.Option(min=1, help="Move at most this many messages.")] = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Move dead-lettered order messages back to the start queue (after fixing why they failed)."""
    from harness import operations

    moved = operations.redrive(target(), limit)
    if as_json:
        render.emit_json({"moved": moved})
    else:
        render.redriven(moved)
