"""`saga demo`: synthesize, deploy to the local cloud, run one order down every path, show the outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from infra import names
from localcloud.cloud import LocalCloud
from localcloud.deploy import synthesize
from localcloud.seed import seed

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


@dataclass(frozen=True)
class Scenario:
    title: str
    detail: dict[str, Any]
    expected: str
    deliveries: int = 1


SCENARIOS = (
    Scenario(
        "the seed's example",
        {"order_id": "order-123", "patient_id": "patient-456", "medications": ["med-1", "med-2"]},
        "COMPLETED",
    ),
    Scenario(
        "unknown medication",
        {"order_id": "order-unknown-med", "patient_id": "patient-457", "medications": ["med-1", "med-404"]},
        "FAILED",
    ),
    Scenario(
        "no stock",
        {"order_id": "order-no-stock", "patient_id": "patient-458", "medications": ["med-3", "med-scarce"]},
        "FAILED",
    ),
    Scenario(
        "undeliverable address",
        {
            "order_id": "order-undeliverable",
            "patient_id": "patient-459",
            "medications": [{"medication_id": "med-4", "quantity": 2}],
            "shipping_address": {**US_ADDRESS, "country": "AQ"},
        },
        "FAILED",
    ),
    Scenario(
        "delivered 3 times at once",
        {"order_id": "order-duplicated", "patient_id": "patient-460", "medications": ["med-3"]},
        "COMPLETED",
        deliveries=3,
    ),
    Scenario(
        "invalid order",
        {"order_id": "order-invalid", "patient_id": "patient-461", "medications": []},
        "REJECTED",
    ),
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
    with LocalCloud.start() as cloud:
        mark = time.perf_counter()
        say("deploying the template into the local cloud")
        cloud.deploy(assembly)
        seed(cloud.client("dynamodb"), cloud.outputs)
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


def _outcome(cloud: LocalCloud, scenario: Scenario) -> Outcome:
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
