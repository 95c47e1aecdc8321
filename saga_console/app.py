"""The console's Flask app: pages over a `Target`, mounted at /console/ (standalone or beside the local cloud).

Every read goes through `harness.queries` (and `saga_console.reads` for the page's own
needs), so the page and the CLI agree. Patient data is shown only when the page is asked for
it (`?patient_data=1`), as `saga history --with-patient-data`. The actions (resume, redrive,
and a saga's requests: verify, reject, cancel in `requests`) are POSTs behind a confirmation
page: each page issues a fresh single-use token for its one action, the POST must come from the
console's own origin, and actions are refused
unless the console is bound to loopback or was started with actions allowed. Every response
forbids framing and loads only the console's own assets (`page_headers`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from harness import operations, queries
from harness.errors import HarnessError, NotFound
from harness.execution_path import IN_PROGRESS, ExecutionPath
from harness.saga_executions import merged_path
from harness.seed import stock
from harness.target import Target
from harness.told import event_json, note, seconds
from infra import names
from lambdas.domain import events as ev
from lambdas.domain.events import StoredEvent
from lambdas.domain.states import PARKED_STATES, TERMINAL_STATES, SagaState
from saga_console import graph, metrics, page_headers, reads
from saga_console.confirmations import ActionTokens, check_action, confirm_page
from saga_console.guard import is_loopback
from saga_console.requests import requests

PAGE_SIZE = 25
COUNTS_SECONDS = 5.0
"""How old the list's counts per state may be (the rows themselves are always read afresh)."""
GROUP_LABELS = {
    "pending": "pending",
    "failed": "failed",
    "completed": "completed",
    "compensation_failed": "compensation failed",
    "rejected": "rejected",
    "pending_verification": "waiting for a pharmacist",
    "cancelled": "cancelled",
    "order_not_received": "order not received",
}


def create_app(
    target: Target, *, host: str = "127.0.0.1", allow_actions: bool = False, counts_seconds: float = COUNTS_SECONDS
) -> Flask:
    """The console for `target`, as served on `host` (actions only on loopback unless allowed)."""
    app = Flask(__name__, static_url_path="/console/static")
    app.config["TARGET"] = target
    app.config["ACTIONS_ALLOWED"] = allow_actions or is_loopback(host)
    app.config["ACTION_TOKENS"] = ActionTokens()
    app.config["COUNTS"] = reads.RecentCounts(target, counts_seconds)
    app.config["COUNTS_SECONDS"] = counts_seconds
    app.register_blueprint(pages)
    app.register_blueprint(requests)
    app.jinja_env.globals.update(
        state_class=state_class, seconds=seconds, group_labels=GROUP_LABELS, utc=utc, utc_time=utc_time
    )

    @app.errorhandler(HarnessError)
    def not_found(error: HarnessError) -> tuple[str, int]:
        status = 404 if isinstance(error, NotFound) else 409
        return render_template("error.html", message=str(error)), status

    @app.errorhandler(HTTPException)
    def refused(error: HTTPException) -> Response:
        # The console's own page (its CSS, its headers) rather than werkzeug's, with the reason given to abort()
        page = make_response(render_template("error.html", message=error.description), error.code or 500)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                page.headers[name] = value  # a 405's Allow
        return page

    @app.after_request
    def protect(response: Response) -> Response:
        return page_headers.protect(response, static=request.endpoint == "static")

    return app


pages = Blueprint("console", __name__, url_prefix="/console")


def _target() -> Target:
    target: Target = current_app.config["TARGET"]
    return target


def state_class(state: str) -> str:
    return "state-" + state.lower().replace("_", "-")


def utc(value: datetime) -> str:
    """A moment as the console shows a saga's times: to the second, in UTC, saying so."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def utc_time(value: datetime) -> str:
    """A moment within a saga's few seconds (its events): the time of day to the millisecond, in UTC, saying so."""
    return f"{value.astimezone(UTC):%H:%M:%S.%f}"[:-3] + " UTC"


@pages.get("/")
def home() -> Response:
    return redirect(url_for("console.sagas"))


def _list_context() -> dict[str, Any]:
    group = request.args.get("state") or None
    if group is not None and group not in queries.STATE_GROUPS:
        abort(400, f"unknown state {group!r}")
    before = request.args.get("before") or None
    search = (request.args.get("q") or "").strip()
    by_state, counted_at = current_app.config["COUNTS"].get()
    if search:
        found = reads.saga(_target(), search)
        page = reads.Page([found] if found else [], None)
    else:
        page = reads.sagas_page(_target(), group, before, PAGE_SIZE)
    rows_at = datetime.now(UTC)  # after the rows were read: the counts, read at most every few seconds, lag it
    return {
        "group": group,
        "before": before,
        "search": search,
        "page": page,
        "by_state": by_state,
        "by_group": reads.group_counts(by_state),
        "total": sum(by_state.values()),
        # An aware time: a naive fromtimestamp() is the server's local time, shown as if it were UTC
        "counted_at": datetime.fromtimestamp(counted_at, UTC),
        "rows_at": rows_at,
        "counts_seconds": current_app.config["COUNTS_SECONDS"],
    }


@pages.get("/sagas")
def sagas() -> str:
    return render_template("sagas.html", **_list_context())


@pages.get("/sagas/live")
def sagas_live() -> str:
    """The counts and the first page, for the list page to follow new sagas without reloading."""
    return render_template("_sagas_live.html", **_list_context())


def _saga_context(order_id: str) -> dict[str, Any]:
    target = _target()
    found = queries.status(target, order_id)
    definition = reads.definition(target)
    execution = found.execution
    # The graph draws the saga machine: its own execution's path with what each later execution (the
    # compensation machine's, each resume) did to the same states laid over it.
    path = merged_path(list(found.executions), set(definition.get("States", {}))) or ExecutionPath()
    patient_data = request.args.get("patient_data") == "1"
    asked = _requests_context(found, path)
    waiting = asked["waiting"]
    notes = {asked["waiting_in"]: f"waiting until {utc(waiting.deadline_at)}"} if asked["waiting_in"] else {}
    return {
        "order_id": order_id,
        "view": found.view,
        "execution": execution,
        "graph": graph.svg(definition, path, notes),
        "legend": [(graph.LABELS[k], colour) for k, colour in graph.COLOURS.items()],
        "events": _event_rows(found.events, patient_data),
        "executions": [{"execution": e, "states": _state_rows(e.path)} for e in found.executions],
        "last_did": found.last_did,
        "resumed": request.args.get("resumed") == "1",
        "parked": found.compensation_failure,  # what `saga status` shows, from the same query
        "conflicts": [e for e in found.events if e.type == ev.ConflictingOrderReceived.TYPE_KEY],
        "settled": bool(found.view and found.view.state in TERMINAL_STATES | PARKED_STATES),
        "patient_data": patient_data,
        "note": note,
        **asked,
    }


NOT_CANCELLABLE = TERMINAL_STATES | PARKED_STATES | {SagaState.COMPENSATING}
"""Where a cancellation can change nothing: the saga ended, or it is already undoing its steps."""
SENT = {
    "verify": "the pharmacist's verification",
    "reject": "the pharmacist's rejection",
    "cancel": "the cancellation",
}


def _requests_context(found: queries.Status, path: ExecutionPath) -> dict[str, Any]:
    """The verification, the cancellation and the requests that changed nothing; which requests the page offers;
    and, for a saga waiting for a pharmacist, since when and until when (drawn on its waiting state)."""
    state = found.view.state if found.view else None
    verification = found.verification
    waiting = verification if state is SagaState.PENDING_VERIFICATION and verification else None
    in_progress = [name for name in path.order if path.outcome(name) == IN_PROGRESS]
    return {
        "verification": verification,
        "cancellation": found.cancellation,
        "unapplied": found.unapplied,
        "waiting": waiting,
        "waiting_in": in_progress[-1] if waiting and in_progress else None,
        "verifiable": state is SagaState.PENDING_VERIFICATION,
        "cancellable": state is not None and state not in NOT_CANCELLABLE,
        "sent": SENT.get(request.args.get("sent") or ""),
        "sent_kind": request.args.get("sent") if request.args.get("sent") in SENT else None,
    }


def _bar(start: datetime, end: datetime | None, origin: datetime, span: float) -> dict[str, float]:
    left = (start - origin).total_seconds() / span * 100
    width = ((end or start) - start).total_seconds() / span * 100
    return {"left": round(left, 2), "width": round(max(width, 0.6), 2)}


def _event_rows(events: list[StoredEvent], patient_data: bool) -> list[dict[str, Any]]:
    if not events:
        return []
    origin = events[0].occurred_at
    span = max((events[-1].occurred_at - origin).total_seconds(), 0.001)
    return [
        {
            "event": e,
            "offset": (e.occurred_at - origin).total_seconds(),
            "bar": _bar(e.occurred_at, None, origin, span),
            "payload": event_json(e, with_patient_data=True)["payload"] if patient_data else None,
        }
        for e in events
    ]


def _state_rows(path: ExecutionPath) -> list[dict[str, Any]]:
    if path.started_at is None:
        return []
    origin = path.started_at
    last = path.stopped_at or max((r.exited_at or r.entered_at for r in path.runs.values()), default=origin)
    span = max((last - origin).total_seconds(), 0.001)
    rows = []
    for name in path.order:
        run = path.runs[name]
        took = (run.exited_at - run.entered_at).total_seconds() if run.exited_at else None
        rows.append({"run": run, "took": took, "bar": _bar(run.entered_at, run.exited_at, origin, span)})
    return rows


@pages.get("/sagas/<order_id>")
def saga(order_id: str) -> str:
    template = "_saga_live.html" if request.args.get("live") == "1" else "saga.html"
    return render_template(template, **_saga_context(order_id))


@pages.get("/sagas/<order_id>/resume")
def resume_confirm(order_id: str) -> Response:
    state = operations.resumable(_target(), order_id)  # any other saga: a refusal (409), not a form
    return confirm_page(
        f"Resume {order_id}",
        url_for("console.resume", order_id=order_id),
        f"{order_id} is {state.value}. Start the compensation machine to run its remaining compensations?",
        cancel=url_for("console.saga", order_id=order_id),
    )


@pages.post("/sagas/<order_id>/resume")
def resume(order_id: str) -> Response:
    check_action()
    operations.start_resume(_target(), order_id)
    return redirect(url_for("console.saga", order_id=order_id, resumed=1), code=303)


@pages.get("/redrive")
def redrive_confirm() -> Response:
    depth = reads.dead_letter_depth(_target())
    return confirm_page(
        "Redrive the dead-letter queue",
        url_for("console.redrive"),
        f"Move the {depth} message(s) of the dead-letter queue back to the start queue?",
        cancel=url_for("console.operations_page"),
    )


@pages.post("/redrive")
def redrive() -> Response:
    check_action()
    moved = operations.redrive(_target(), limit=1000)
    return redirect(url_for("console.operations_page", moved=moved), code=303)


@pages.get("/operations")
def operations_page() -> str:
    target = _target()
    return render_template(
        "operations.html",
        figures=queries.stats(target),
        per_minute=reads.started_per_minute(target),
        stock=stock(target),
        dead_letters=reads.dead_letter_depth(target),
        moved=request.args.get("moved"),
        dashboard=target.outputs.get(names.OUTPUT_DASHBOARD),
    )


@pages.get("/metrics")
def metrics_page() -> str:
    widgets = metrics.dashboard(_target())
    return render_template(
        "metrics.html",
        widgets=[(w, metrics.chart(w)) for w in widgets],
        colours=metrics.SERIES_COLOURS,
    )
