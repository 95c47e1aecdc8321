"""What an order sender controls reaches the operator's terminal as text: no markup, no escape sequence."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import typer.main
import typer.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from harness import seed
from harness.target import Target
from infra import names
from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.order import OrderLine, ShippingAddress
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState
from lambdas.logic.repository import stream_id_for
from saga_cli import main, render
from saga_cli.render import escaped
from tests.fakes import FakeProjection

runner = CliRunner()
_COMMAND = typer.main.get_command(main.app)
"""Built once: typer builds it again on each invoke (16 ms), and the test invokes it a thousand times."""

NASTY = [
    "[/bold]",
    "[link=https://evil.example]x[/link]",
    "[blink red]KEYCANARY[/blink red]",
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\x9b2J",
    "\x9d0;pwned\x9c",
    "\u202e",
    "back\\slash",
    "line\nbreak\ttab\rreturn",
]
"""The issue's payloads: markup that crashed Rich, an OSC title, a screen clear, an OSC 8 link, their
C1 forms (CSI 0x9b, OSC 0x9d, ST 0x9c), a bidi override; and what an escape must not be confused with."""

# Every category, surrogates included (json.loads makes a lone one of "\ud800"), short enough to
# keep each example quick; and the nasty ones, alone or inside arbitrary text.
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=24)
hostile = st.one_of(
    st.sampled_from(NASTY),
    _ANY_TEXT,
    st.tuples(_ANY_TEXT, st.sampled_from(NASTY), _ANY_TEXT).map("".join),
)

_SGR = re.compile(r"\x1b\[[0-9;]*m")
"""Select Graphic Rendition (ECMA-48 8.3.117): the colour codes Rich itself writes, and nothing else."""


def shown(value: str) -> str:
    """A value as an operator must see it: printable characters as they are (str.isprintable: no
    Unicode Other or Separator but the space), a backslash doubled, any other character as Python
    writes it in a string literal (`repr`: \\x1b, \\n, \\u202e, \\U000e0001)."""
    return "".join("\\\\" if c == "\\" else c if c.isprintable() else repr(c)[1:-1] for c in value)


def test_the_escaped_form_is_pythons_and_keeps_no_control_character() -> None:
    assert escaped("\x1b]0;pwned\x07") == r"\x1b]0;pwned\x07"
    assert escaped("\x9b2J") == r"\x9b2J"
    assert escaped("a\u202eb") == r"a\u202eb"
    assert escaped("tab\there\nline") == r"tab\there\nline"
    assert escaped("\U000e0001\ud800\x7f") == r"\U000e0001\ud800\x7f"
    assert escaped(r"\x1b") == r"\\x1b", "a typed backslash cannot pass for an escape"
    assert escaped("[/bold] Jane é 😀") == "[/bold] Jane é 😀", "printable text is shown as it is"


@dataclass
class Hostile:
    """One saga (and a medication) whose every client-controlled field holds a hostile value."""

    order_id: str
    reasons: list[str]
    key: str
    metadata_key: str
    metadata_value: str
    patient_id: str
    address_line: str
    medication: str
    error: str
    cause: str
    execution: str


@st.composite
def sagas(draw: st.DrawFn) -> Hostile:
    return Hostile(
        order_id=draw(hostile.filter(lambda v: v != "")),
        reasons=draw(st.lists(hostile, min_size=1, max_size=3)),
        key=draw(hostile),
        # a lone surrogate never reaches a stored key: the order is refused (tests/unit/test_order.py)
        metadata_key=draw(hostile.filter(lambda v: not re.search("[\ud800-\udfff]", v))),
        metadata_value=draw(hostile),
        patient_id=draw(hostile),
        address_line=draw(hostile),
        medication=draw(hostile),
        error=draw(hostile),
        cause=draw(hostile),
        execution=draw(hostile),
    )


class _StepFunctions:
    """DescribeExecution and GetExecutionHistory, as boto3 answers them, for the one execution."""

    def __init__(self, saga: Hostile) -> None:
        self._saga = saga

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"name": self._saga.execution, "status": self._saga.execution, "startDate": datetime.now(UTC)}

    def get_execution_history(self, executionArn: str, maxResults: int) -> dict[str, Any]:
        return {"events": []}


class HostileTarget(Target):
    """A stack whose event store, projection and executions hold what a hostile sender got into them."""

    def __init__(self, saga: Hostile) -> None:
        self.saga = saga
        self.store = InMemoryEventStore()
        self.rows = FakeProjection()

    def client(self, service: str) -> Any:
        assert service == "stepfunctions", service
        return _StepFunctions(self.saga)

    @property
    def outputs(self) -> dict[str, str]:
        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:"
        return {names.OUTPUT_STATE_MACHINE: machine + "saga", names.OUTPUT_RESUME_STATE_MACHINE: machine + "resume"}

    @property
    def where(self) -> str:
        return "a hostile sender's stack"

    def projection(self) -> FakeProjection:  # type: ignore[override]  # a fake for the adapter
        return self.rows

    def event_store(self) -> InMemoryEventStore:  # type: ignore[override]  # a fake for the adapter
        return self.store


def _stored(target: HostileTarget) -> None:
    """The saga's stream and row as the functions write them: each client-controlled field hostile.
    Reasons naming the client's key are what the store holds from before key names were hidden."""
    saga = target.saga
    order_id = saga.order_id
    raw = json.dumps({"detail": {"order_id": order_id, saga.key: saga.metadata_value}})
    kept: dict[str, Any] = {"raw_message": raw, "raw_message_bytes": len(raw), "raw_message_sha256": "0"}
    kept |= {"raw_message_truncated": False, "order_sha256": "0"}
    reasons = [*saga.reasons, f"{saga.key}: Extra inputs are not permitted"]
    address = ShippingAddress.model_construct(
        line1=saga.address_line, city=saga.address_line, postal_code="1", country="US"
    )
    events: list[ev.DomainEvent] = [
        ev.OrderRejected(order_id=order_id, reasons=reasons, reasons_total=len(reasons), **kept),
        ev.ConflictingOrderReceived(
            order_id=order_id,
            message_id=saga.execution,
            under_state=SagaState.REJECTED,
            differing_fields=[saga.key],
            valid=False,
            **kept,
        ),
        ev.OrderFulfillmentSagaStarted(
            order_id=order_id,
            patient_id=saga.patient_id,
            medications=[OrderLine.model_construct(medication_id=saga.medication, quantity=1)],
            shipping_address=address,
            order_metadata={saga.metadata_key: saga.metadata_value},
        ),
        ev.OrderFulfillmentSagaStateChanged(
            order_id=order_id, from_state=None, to_state=SagaState.COMPENSATING, reason=saga.reasons[0]
        ),
        ev.PrescriptionRefused(order_id=order_id, reason=saga.error),
        ev.CompensationFailed(order_id=order_id, compensation="cancel_order", error=saga.error, cause=saga.cause),
    ]
    target.store.append(
        [
            ev.new_stored_event(e, stream_id=stream_id_for(order_id), version=n, causation_id=None, source="test")
            for n, e in enumerate(events, 1)
        ]
    )
    now = datetime.now(UTC)
    target.rows.replace(
        SagaView(
            order_id=order_id,
            state=SagaState.REJECTED,
            version=len(events),
            started_at=now,
            updated_at=now,
            compensations_run=(saga.key,),
            failure_reason="; ".join(reasons),
        )
    )


@pytest.fixture
def coloured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Colour forced on, as in a terminal; wide, so that no value is wrapped across lines."""
    monkeypatch.setattr(typer.testing, "_get_command", lambda app: _COMMAND)
    monkeypatch.setattr(render, "console", Console(force_terminal=True, color_system="truecolor", width=20_000))
    monkeypatch.setattr(render, "errors", Console(stderr=True, force_terminal=True, color_system="truecolor"))


def _terminal_safe(output: str) -> str:
    """`output` without Rich's own colour codes; fails if anything else could drive the terminal."""
    text = _SGR.sub("", output)
    assert "\x1b" not in text, "an ESC that does not begin an SGR sequence (an OSC title, a link, a clear)"
    unprintable = sorted({c for c in text if not (c.isprintable() or c == "\n")})
    assert not unprintable, f"characters that do not print reached the terminal: {unprintable!r}"
    return text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(saga=sagas())
def test_no_read_command_crashes_or_writes_a_control_sequence_whatever_the_sender_put_in_a_field(
    saga: Hostile, coloured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack whose saga holds hostile values in every field a client controls
    target = HostileTarget(saga)
    _stored(target)
    monkeypatch.setattr(main, "StackTarget", lambda **_: target)
    monkeypatch.setattr(seed, "stock", lambda _: {saga.medication: (7, 1)})
    monkeypatch.setattr(seed, "set_stock", lambda *_: None)
    monkeypatch.setattr(seed, "in_catalogue", lambda *_: True)  # `inventory set` sets only what the catalogue lists
    commands = [
        ("list", "--state", "rejected"),
        ("status", "--", saga.order_id),
        ("history", "--", saga.order_id),
        ("history", "--with-patient-data", "--", saga.order_id),
        ("history", "--json", "--", saga.order_id),
        ("history", "--json", "--with-patient-data", "--", saga.order_id),
        ("inventory", "show"),
        ("inventory", "set", "--", saga.medication, "5"),
    ]
    seen: dict[tuple[str, ...], str] = {}
    for command in commands:
        # When the operator runs each read command
        result = runner.invoke(main.app, list(command))
        # Then none crashes, and nothing but text and Rich's colours reaches stdout or stderr
        assert result.exit_code == 0, (command, result.output, result.exception)
        seen[command] = _terminal_safe(result.stdout)
        _terminal_safe(result.stderr)
    # and each value is there to read, escaped
    listed, status = seen[commands[0]], seen[commands[1]]
    assert shown(saga.order_id) in listed
    assert shown(saga.order_id) in status
    for reason in saga.reasons:
        assert shown(reason) in listed
        assert shown(reason) in status
    assert shown(f"{saga.key}: Extra inputs are not permitted") in status
    assert shown(saga.error) in status
    assert shown(saga.cause) in status
    assert shown(saga.execution) in status
    assert shown(saga.medication) in seen[commands[6]]
    assert shown(saga.medication) in seen[commands[7]]
    # and --json stays JSON, the patient data in it when asked for
    full = json.loads(seen[commands[5]])
    assert full[2]["payload"]["patient_id"] == saga.patient_id
    assert full[2]["payload"]["order_metadata"] == {saga.metadata_key: saga.metadata_value}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(order_id=hostile.filter(lambda v: v != ""))
def test_an_error_quoting_what_came_from_outside_writes_no_control_sequence(
    order_id: str, coloured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack without that saga: the error names the order id it was asked for
    target = HostileTarget(Hostile(order_id, [], *[""] * 9))
    monkeypatch.setattr(main, "StackTarget", lambda **_: target)
    result = runner.invoke(main.app, ["status", "--", order_id])
    assert result.exit_code == 1, result.output
    assert _terminal_safe(result.stderr) == f"Error: no saga for order {shown(order_id)}\n"
