"""The saga page's requests (a pharmacist's verify or reject, an order's cancellation), behind resume's confirmation.

Each is put on the order bus exactly as `saga prescription verify|reject` and `saga order cancel` put
it (`harness.saga_requests`): the saga decides and records what it did, and the saga page shows it.
"""

from __future__ import annotations

from typing import get_args

from flask import Blueprint, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from harness import queries, saga_requests
from harness.errors import Refused
from harness.saga_requests import Kind
from harness.target import Target
from saga_console.confirmations import Field, check_action, confirm_page

requests = Blueprint("requests", __name__, url_prefix="/console")

RECORDED_WAIT_SECONDS = 3.0
"""How long a POST waits for the saga to record its request, so that the page it leads to shows it."""

_WHAT = {
    "verify": ("Verify the prescription of", "Put a pharmacist's PrescriptionVerified on the order bus?"),
    "reject": ("Reject the prescription of", "Put a pharmacist's PrescriptionRejected on the order bus?"),
    "cancel": ("Cancel order", "Put an OrderCancellationRequested on the order bus?"),
}


def _fields(kind: Kind) -> tuple[Field, ...]:
    """The fields of a kind's form, holding what the operator typed (shown again when refused)."""
    pharmacist = Field("pharmacist_id", "pharmacist id", request.form.get("pharmacist_id", ""))
    reason = Field("reason", "reason", request.form.get("reason", ""))
    return {"verify": (pharmacist,), "reject": (pharmacist, reason), "cancel": (reason,)}[kind]


def _target() -> Target:
    target: Target = current_app.config["TARGET"]
    return target


def _page(kind: Kind, order_id: str, *, error: str | None = None) -> Response:
    title, question = _WHAT[kind]
    state = queries.saga_state(_target(), order_id)
    return confirm_page(
        f"{title} {order_id}",
        url_for("requests.send", order_id=order_id, kind=kind),
        f"{order_id} is {state.value}. {question} The saga decides, and records what it did.",
        cancel=url_for("console.saga", order_id=order_id),
        fields=_fields(kind),
        error=error,
        status=200 if error is None else 400,
    )


def _send(kind: Kind, order_id: str) -> Response:
    check_action()
    try:
        sent = saga_requests.request(
            kind, order_id, pharmacist_id=request.form.get("pharmacist_id"), reason=request.form.get("reason")
        )
    except Refused as refused:
        # The token is spent: the page comes back with a fresh one and what was typed.
        return _page(kind, order_id, error=str(refused))
    saga_requests.send(_target(), sent, RECORDED_WAIT_SECONDS)
    return redirect(url_for("console.saga", order_id=order_id, sent=kind), code=303)


_KIND = f"<any({', '.join(get_args(Kind))}):kind>"
"""One URL per kind of request: its confirmation page on GET, the request sent on POST."""


@requests.get(f"/sagas/<order_id>/{_KIND}")
def confirm(order_id: str, kind: Kind) -> Response:
    return _page(kind, order_id)


@requests.post(f"/sagas/<order_id>/{_KIND}")
def send(order_id: str, kind: Kind) -> Response:
    return _send(kind, order_id)
