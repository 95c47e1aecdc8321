"""The fault injection plan of a stack synthesized with the switch (`-c fault_injection=true`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from infra import names
from lambdas.logic import faults

if TYPE_CHECKING:
    from harness.target import Target


class NoFaultInjection(HarnessError):
    pass


def read_plan(plan_text: str) -> dict[str, Any]:
    """The plan given as JSON or as `@file`, checked: a ValueError says what is wrong with it."""
    try:
        text = Path(plan_text[1:]).read_text() if plan_text.startswith("@") else plan_text
    except OSError as error:
        raise ValueError(f"cannot read the fault plan: {error}") from None
    try:
        plan: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the fault plan is not JSON: {error}") from None
    faults.parse_plan(plan)
    return plan


def put_plan(target: Target, plan: dict[str, Any]) -> bool:
    """Put `plan` in the stack's fault injection parameter; False if it was already there.

    Functions hold the plan they last read for up to `faults.PLAN_MAX_AGE_SECONDS`: a changed
    plan is in force only that long after this returns (`Target.set_faults` waits for it).
    """
    faults.parse_plan(plan)
    name = target.outputs.get(names.OUTPUT_FAULT_INJECTION_PARAMETER)
    if not name:
        raise NoFaultInjection(
            f"stack {target.stack} was synthesized without fault injection (-c fault_injection=true)"
        )
    ssm = target.client("ssm")
    stored = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    try:
        if json.loads(stored) == plan:
            return False
    except json.JSONDecodeError:
        pass  # not a plan at all (written by hand): replaced by this one
    ssm.put_parameter(Name=name, Value=json.dumps(plan), Type="String", Overwrite=True)
    return True
