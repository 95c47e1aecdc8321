"""Fault injection for chaos tests and demos: an explicit switch, off unless the stack enables it.

The plan is JSON, keyed by step or compensation name:

    {"seed": 7,
     "reserve_inventory": {"transient": 0.2, "transient_attempts": 1,
                           "permanent": 0.0, "latency_ms": 200, "latency": 0.5}}

`transient` / `permanent` / `latency` are probabilities; `transient_attempts: N` fails the
first N attempts of every saga for certain (retries then succeed). Draws are a pure
function of (seed, order, target, attempt), so a chaos run can be replayed exactly.
Functions hold the plan they read for up to `PLAN_MAX_AGE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lambdas.domain.errors import InjectedPermanentFault, InjectedTransientFault
from lambdas.domain.states import Compensation, Step

PLAN_MAX_AGE_SECONDS = 5
"""A function re-reads the plan when the one it holds is this old: a new plan is in force this
long after it was written."""

TARGETS: tuple[str, ...] = tuple(s.value for s in Step) + tuple(c.value for c in Compensation)
"""What a plan may name: the steps and compensations, by handler name."""


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    transient: float = Field(default=0.0, ge=0, le=1)
    transient_attempts: int = Field(default=0, ge=0)
    permanent: float = Field(default=0.0, ge=0, le=1)
    latency: float = Field(default=0.0, ge=0, le=1)
    latency_ms: int = Field(default=0, ge=0, le=60_000)


class FaultPlan(BaseModel):
    """A whole plan. A key that names no step or compensation is a mistake, not a no-op."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    seed: int = 0
    create_prescription: FaultSpec | None = None
    reserve_inventory: FaultSpec | None = None
    initiate_shipment: FaultSpec | None = None
    cancel_shipment: FaultSpec | None = None
    release_inventory: FaultSpec | None = None
    cancel_prescription: FaultSpec | None = None
    cancel_order: FaultSpec | None = None

    def spec(self, target: str) -> FaultSpec | None:
        if target not in TARGETS:
            raise ValueError(f"no step or compensation is called {target!r}")
        spec: FaultSpec | None = getattr(self, target)
        return spec


def parse_plan(plan: Any) -> FaultPlan:
    """The plan, or a ValueError that says in one line what is wrong with it."""
    try:
        return FaultPlan.model_validate(plan)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            if problem["type"] == "extra_forbidden" and len(problem["loc"]) == 1:
                problems.append(f"{where}: not a step or compensation (one of: {', '.join(TARGETS)})")
            else:
                problems.append(f"{where}: {problem['msg']}" if where else problem["msg"])
        raise ValueError("the fault plan is not valid: " + "; ".join(problems)) from None


def _draw(seed: int, order_id: str, target: str, attempt: int, kind: str) -> float:
    digest = hashlib.sha256(f"{seed}|{order_id}|{target}|{attempt}|{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def draws_permanent(plan: FaultPlan, order_id: str, target: str) -> bool:
    """Whether `plan` fails `target` permanently for this saga: drawn once per saga, not per attempt
    (retrying does not cure it), so a chaos run can tell a parked saga's cause afterwards."""
    spec = plan.spec(target)
    return spec is not None and _draw(plan.seed, order_id, target, 0, "permanent") < spec.permanent


def draws_transient(plan: FaultPlan, order_id: str, target: str, attempt: int) -> bool:
    """Whether `plan` fails this attempt of `target` transiently: one of the first `transient_attempts`,
    or drawn (each attempt its own draw). harness/fault_outcomes.py predicts a load with it."""
    spec = plan.spec(target)
    if spec is None:
        return False
    if attempt < spec.transient_attempts:
        return True
    return _draw(plan.seed, order_id, target, attempt, "transient") < spec.transient


@dataclass
class FaultInjector:
    """Raises or delays per the current plan; `load_plan` returns None when injection is off."""

    load_plan: Callable[[], Mapping[str, Any] | None]
    sleep: Callable[[float], None] = time.sleep

    def before(self, target: str, order_id: str, attempt: int) -> None:
        raw = self.load_plan()
        if not raw:
            return
        plan = parse_plan(raw)
        spec = plan.spec(target)
        if spec is None:
            return
        seed = plan.seed
        if spec.latency_ms and _draw(seed, order_id, target, attempt, "latency") < spec.latency:
            self.sleep(spec.latency_ms / 1000)
        if draws_transient(plan, order_id, target, attempt):
            raise InjectedTransientFault(f"injected transient fault in {target} (attempt {attempt})")
        if draws_permanent(plan, order_id, target):
            raise InjectedPermanentFault(f"injected permanent fault in {target}")


NO_FAULTS = FaultInjector(load_plan=lambda: None)
