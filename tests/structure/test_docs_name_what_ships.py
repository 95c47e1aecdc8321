"""The operator's docs name what ships: every alarm a stack deploys has its row in the runbook's table,
and every `saga` command its row in the README's table.

The expected names come from what ships, not from the docs: the alarms from the template synthesized
with every optional alarm's switch that needs no outside system (`prescription_verification=pharmacist`),
the commands from the CLI's own command tree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
import typer.core

from harness.assembly import synthesize
from saga_cli.main import app
from tests.verifying_stack import DEADLINE_MINUTES

ROOT = Path(__file__).resolve().parents[2]
ALARM = "AWS::CloudWatch::Alarm"
LOGICAL_ID = re.compile(r"^Monitoring(?P<name>[A-Za-z0-9]+?)[0-9A-F]{8}$")
"""CDK's logical id of a construct under Monitoring: the construct path, then an 8-digit hash."""


def _first_cells(markdown: str, after: str, before: str) -> str:
    """The first cell of every table row between the two markers."""
    section = markdown.split(after, 1)[1].split(before, 1)[0]
    return "\n".join(line.split("|")[1] for line in section.splitlines() if line.startswith("|"))


def _template() -> dict[str, Any]:
    # The stack and context tests/verifying_stack.py synthesizes: one synthesis, reused.
    return synthesize(
        "Verifying",
        fault_injection=False,
        context={"prescription_verification": "pharmacist", "verification_deadline_minutes": str(DEADLINE_MINUTES)},
    ).template


def _deployed_alarms() -> set[str]:
    template = _template()
    names = set()
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == ALARM:
            match = LOGICAL_ID.match(logical_id)
            assert match, f"alarm {logical_id} is not under the Monitoring construct"
            names.add(match["name"])
    return names


def test_the_runbook_names_every_alarm_the_stack_deploys() -> None:
    alarms = _deployed_alarms()
    assert {"VerificationsOverdue", "DeadLetters0"} <= alarms, "the logical ids no longer read as assumed"
    table = _first_cells((ROOT / "docs" / "operations.md").read_text(), "**Alarms**", "## Runbook")
    named = set(re.findall(r"[A-Za-z0-9]+", table))
    assert sorted(alarms - named) == []


RUNBOOK_POINTER = re.compile(r"docs/operations\.md, '(?P<section>[^']+)'")


def test_every_alarm_points_to_a_runbook_section_that_exists() -> None:
    # Found walking the product: the requests dead-letter queue's alarm sent operators to 'Redriving the
    # dead-letter queue', whose `saga redrive` does not move that queue's messages.
    headings = set(re.findall(r"^### (.+)$", (ROOT / "docs" / "operations.md").read_text(), re.MULTILINE))
    pointers = {}
    for logical_id, resource in _template()["Resources"].items():
        if resource["Type"] == ALARM:
            description = str(resource["Properties"].get("AlarmDescription", ""))
            for match in RUNBOOK_POINTER.finditer(description):
                pointers[logical_id] = match["section"]
    assert pointers, "no alarm points to the runbook: the pattern no longer reads the descriptions"
    assert {k: v for k, v in pointers.items() if v not in headings} == {}
    requests = [v for k, v in pointers.items() if k.startswith("MonitoringDeadLetters4")]
    assert requests == ["Requests in the requests dead-letter queue"]


def test_the_readme_names_every_saga_command() -> None:
    cli = typer.main.get_command(app)
    assert isinstance(cli, typer.core.TyperGroup)
    commands = set(cli.commands)
    assert {"order", "status", "list"} <= commands
    table = _first_cells((ROOT / "README.md").read_text(), "## The `saga` command", "Options, exit codes")
    named = set(re.findall(r"`saga ([a-z-]+)", table))
    assert sorted(commands - named) == []
