"""`saga prescription verify|reject` and `saga order cancel`: a pharmacist's answer or a cancellation, put on the
order bus as a pharmacy puts it, and in one line what the saga recorded of it.

Exit code 0 when the saga applied it (or kept a cancellation for an order still to come); 1 when it
was recorded with the saga's reason why it changed nothing, or when nothing was recorded within --wait;
2 when refused here, before anything was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.text import Text

from harness import saga_requests
from harness.saga_requests import APPLIED, KEPT_FOR_ORDER, Kind, Outcome
from harness.target import Target
from saga_cli import render

prescription_app = typer.Typer(
    help="A pharmacist's decision on a waiting prescription.", no_args_is_help=True, rich_markup_mode=None
)

Order = Annotated[str, typer.Argument(metavar="ORDER", help="The order id.")]
Wait = Annotated[float, typer.Option(min=0, help="Seconds to wait for the saga to record it.")]
Json = Annotated[bool, typer.Option("--json", help="Print only JSON.")]
Pharmacist = Annotated[str, typer.Option("--pharmacist", help="The deciding pharmacist's id.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept with the saga, shown escaped, never published).")]

WAIT_SECONDS = 10.0

_SAID = {"verify": "verification", "reject": "rejection", "cancel": "cancellation"}


def told(outcome: Outcome) -> Text:
    """One line: what was sent, and what the saga recorded of it (its why, when it changed nothing)."""
    sent = outcome.request
    head = Text.assemble(
        render.untrusted(sent.order_id, "bold"),
        f": {_SAID[sent.kind]} sent (event ",
        render.untrusted(outcome.event_id),
        ")",
    )
    if outcome.recorded == APPLIED:
        return Text.assemble(head, (" — applied", "green"), " (", render.untrusted(outcome.event_type), ")")
    if outcome.recorded == KEPT_FOR_ORDER:
        return Text.assemble(
            head, (" — kept", "green"), ": no order received under this id yet; it ends CANCELLED when it comes"
        )
    if outcome.recorded is not None:
        return Text.assemble(head, (" — recorded, changed nothing: ", "yellow"), render.untrusted(outcome.why or ""))
    return Text.assemble(
        head, (" — not recorded yet", "yellow"), " (see `saga status ", render.untrusted(sent.order_id), "`)"
    )


def run(target: Target, kind: Kind, order_id: str, wait: float, as_json: bool, **given: Any) -> None:
    """Refuse here what the saga would refuse, send, wait, tell; the exit code says what was recorded."""
    outcome = saga_requests.send(target, saga_requests.request(kind, order_id, **given), wait)
    if as_json:
        render.emit_json(outcome.as_json())
    else:
        render.console.print(told(outcome), soft_wrap=True)
    if outcome.recorded not in (APPLIED, KEPT_FOR_ORDER):
        raise typer.Exit(1)


def register(
    app: typer.Typer, order_app: typer.Typer, target: Callable[[], Target], operation: Callable[..., Any]
) -> None:
    """Add the commands to the CLI (`operation` turns AWS and harness errors into one line)."""

    @prescription_app.command("verify")
    @operation
    def verify(order_id: Order, pharmacist: Pharmacist, wait: Wait = WAIT_SECONDS, as_json: Json = False) -> None:
        """Put a pharmacist's PrescriptionVerified on the order bus; the saga goes on to reserve the inventory."""
        run(target(), "verify", order_id, wait, as_json, pharmacist_id=pharmacist)

    @prescription_app.command("reject")
    @operation
    def reject(
        order_id: Order, pharmacist: Pharmacist, reason: Reason, wait: Wait = WAIT_SECONDS, as_json: Json = False
    ) -> None:
        """Put a pharmacist's PrescriptionRejected on the order bus; the saga compensates and ends FAILED."""
        run(target(), "reject", order_id, wait, as_json, pharmacist_id=pharmacist, reason=reason)

    @order_app.command("cancel")
    @operation
    def cancel(order_id: Order, reason: Reason, wait: Wait = WAIT_SECONDS, as_json: Json = False) -> None:
        """Put an OrderCancellationRequested on the order bus: before its shipment the saga undoes its steps
        and ends CANCELLED; after, the cancellation is refused and recorded."""
        run(target(), "cancel", order_id, wait, as_json, reason=reason)

    app.add_typer(prescription_app, name="prescription")
