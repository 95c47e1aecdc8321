"""`saga demo`: synthesize, deploy to the local cloud, run one order down every path, show the outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.assembly import synthesize
from harness.inprocess import InProcess, deployed
from harness.orders import Kind, of_kind, order
from infra import names


@dataclass(frozen=True)
class Scenario:
    title: str
    detail: dict[str, Any]
    expected: str
    deliveries: int = 1


SCENARIOS = (
    Scenario("the seed's example", order("order-123", "med-1", "med-2"), Kind.VALID.ends_in.value),
    Scenario(
        "unknown medication",
        of_kind(Kind.UNKNOWN_MED, "order-unknown-med", "med-1"),
        Kind.UNKNOWN_MED.ends_in.value,
    ),
    Scenario("no stock", of_kind(Kind.NO_STOCK, "order-no-stock", "med-3"), Kind.NO_STOCK.ends_in.value),
    Scenario(
        "undeliverable address",
        of_kind(Kind.UNDELIVERABLE, "order-undeliverable", {"medication_id": "med-4", "quantity": 2}),
        Kind.UNDELIVERABLE.ends_in.value,
    ),
    Scenario("delivered 3 times at once", order("order-duplicated", "med-3"), Kind.VALID.ends_in.value, deliveries=3),
    Scenario("invalid order", of_kind(Kind.INVALID, "order-invalid"), Kind.INVALID.ends_in.value),
)


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    state: str
    steps: tuple[str, ...]
    compensations: tuple[str, ...]
    duration_seconds: float | None
    executions: int
    reason: str | None

    @property
    def as_expected(self) -> bool:
        return self.state == self.scenario.expected and self.executions <= 1


def run_demo(progress: Any = None) -> tuple[list[Outcome], dict[str, float]]:
    """Run every scenario on a fresh local cloud; the outcomes and the timings of each phase."""
    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    say("synthesizing the CDK app")
    assembly = synthesize()
    timings["synthesize"] = time.perf_counter() - started
    mark = time.perf_counter()
    say("deploying the template into the local cloud")
    with deployed(assembly) as cloud:
        timings["deploy"] = time.perf_counter() - mark
        mark = time.perf_counter()
        say("sending the orders")
        for scenario in SCENARIOS:
            cloud.put_order_at_once(scenario.detail, scenario.deliveries)
        order_ids = [s.detail["order_id"] for s in SCENARIOS]
        cloud.wait_for_sagas(order_ids, timeout=60)
        timings["sagas"] = time.perf_counter() - mark
        outcomes = [_outcome(cloud, scenario) for scenario in SCENARIOS]
    timings["total"] = time.perf_counter() - started
    return outcomes, timings


def _outcome(cloud: InProcess, scenario: Scenario) -> Outcome:
    order_id = scenario.detail["order_id"]
    view = cloud.projection().get(order_id)
    assert view is not None
    sfn = cloud.client("stepfunctions")
    executions = [
        e
        for e in sfn.list_executions(stateMachineArn=cloud.outputs[names.OUTPUT_STATE_MACHINE])["executions"]
        if e["name"] == order_id
    ]
    return Outcome(
        scenario=scenario,
        state=view.state.value,
        steps=view.steps_completed,
        compensations=view.compensations_run,
        duration_seconds=view.duration_seconds,
        executions=len(executions),
        reason=view.failure_reason,
    )
