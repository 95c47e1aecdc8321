"""`saga demo`: one order down every path, on the built-in tables and over HTTP at the reference pharmacy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.assembly import synthesize
from harness.inprocess import InProcess, deployed
from harness.orders import Kind, of_kind, order
from harness.pharmacy_api import deployed_over_http
from infra import names
from lambdas.domain import rules
from lambdas.domain.states import Step
from pharmacy_reference.server import PREFERRED_PORT, Served, preferred_port

BUILT_IN = "built-in tables"
"""What the first run's steps write: the stack's own tables."""

CREATES: dict[Step, tuple[str, Callable[[str], str]]] = {
    Step.CREATE_PRESCRIPTION: ("createPrescription", rules.prescription_id),
    Step.RESERVE_INVENTORY: ("reserveInventory", rules.reservation_id),
    Step.INITIATE_SHIPMENT: ("createShipment", rules.shipment_id),
}
"""Each step's create at the pharmacy (its operationId in docs/pharmacy-api.yaml) and the id it creates."""

REFUSED = frozenset({409, 422})
"""docs/pharmacy-api.yaml: a create answered 409 or 422 with a reason is a business refusal."""


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
class PharmacyCall:
    operation: str
    status: int | None
    """The pharmacy's final answer (2xx, 409, 422); None when it gave none."""


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    runs_against: str
    state: str
    steps: tuple[str, ...]
    compensations: tuple[str, ...]
    duration_seconds: float | None
    executions: int
    reason: str | None
    pharmacy_calls: tuple[PharmacyCall, ...] | None = None
    """What the pharmacy was asked for this order, in arrival order, once per key; None on the built-in tables."""

    @property
    def refused_by(self) -> str | None:
        """Who said no: the pharmacy (its status), or the saga itself (its catalogue, rules or tables)."""
        if self.reason is None:
            return None
        creates = {operation for operation, _ in CREATES.values()}
        for call in self.pharmacy_calls or ():
            if call.operation in creates and call.status in REFUSED:
                return f"pharmacy, HTTP {call.status}"
        return "saga"

    @property
    def not_at_pharmacy(self) -> tuple[str, ...]:
        """Over HTTP, the steps done that the pharmacy did not create: none when the run is what it says."""
        if self.pharmacy_calls is None:
            return ()
        created = {c.operation for c in self.pharmacy_calls if c.status is not None and 200 <= c.status <= 299}
        return tuple(step for step in self.steps if CREATES[Step(step)][0] not in created)

    @property
    def unexpected(self) -> str | None:
        """What differs from the scenario's expectation, in words; None when nothing does."""
        found = []
        if self.state != self.scenario.expected:
            found.append(f"ended {self.state}, expected {self.scenario.expected}")
        if self.executions > 1:
            found.append(f"{self.executions} executions, expected one")
        if self.not_at_pharmacy:
            found.append(f"not created at the pharmacy: {', '.join(self.not_at_pharmacy)}")
        return "; ".join(found) or None

    @property
    def as_expected(self) -> bool:
        return self.unexpected is None


@dataclass(frozen=True)
class Run:
    """The scenarios on one fresh local cloud."""

    runs_against: str
    pharmacy_url: str | None
    outcomes: list[Outcome]
    timings: dict[str, float]
    """phase -> seconds: `synthesize_and_deploy`, `sagas`."""


@dataclass(frozen=True)
class Demo:
    runs: list[Run]
    total_seconds: float

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for run in self.runs for outcome in run.outcomes]


def over_http(url: str) -> str:
    """What the HTTP run's steps call, as a reader names it."""
    return f"HTTP {urlsplit(url).netloc}"


def run_demo(progress: Callable[[str], None] | None = None) -> Demo:
    """Every scenario on a fresh local cloud with the built-in tables, then on another whose three steps
    call the reference pharmacy over HTTP."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    say(f"{BUILT_IN}: synthesizing the CDK app, deploying it into the local cloud")
    with deployed(synthesize()) as cloud:
        runs = [_run(cloud, None, time.perf_counter() - started, say)]
    mark = time.perf_counter()
    say("over HTTP: serving the reference pharmacy, synthesizing the app pointed at it, deploying")
    with _reference_pharmacy(say) as (cloud, served):
        runs.append(_run(cloud, served, time.perf_counter() - mark, say))
    return Demo(runs, time.perf_counter() - started)


@contextmanager
def _reference_pharmacy(say: Callable[[str], None]) -> Iterator[tuple[InProcess, Served]]:
    port = preferred_port()
    if not port:
        say(f"port {PREFERRED_PORT} is taken: the reference pharmacy takes a free one (the app is synthesized anew)")
    with deployed_over_http(port=port) as found:
        yield found


def _run(cloud: InProcess, served: Served | None, ready_seconds: float, say: Callable[[str], None]) -> Run:
    runs_against = BUILT_IN if served is None else over_http(served.url)
    mark = time.perf_counter()
    say(f"{runs_against}: sending the orders")
    for scenario in SCENARIOS:
        cloud.put_order_at_once(scenario.detail, scenario.deliveries)
    cloud.wait_for_sagas([s.detail["order_id"] for s in SCENARIOS], timeout=60)
    timings = {"synthesize_and_deploy": ready_seconds, "sagas": time.perf_counter() - mark}
    outcomes = [_outcome(cloud, scenario, runs_against, served) for scenario in SCENARIOS]
    return Run(runs_against, None if served is None else served.url, outcomes, timings)


def _outcome(cloud: InProcess, scenario: Scenario, runs_against: str, served: Served | None) -> Outcome:
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
        runs_against=runs_against,
        state=view.state.value,
        steps=view.steps_completed,
        compensations=view.compensations_run,
        duration_seconds=view.duration_seconds,
        executions=len(executions),
        reason=view.failure_reason,
        pharmacy_calls=None if served is None else _pharmacy_calls(served, order_id),
    )


def _pharmacy_calls(served: Served, order_id: str) -> tuple[PharmacyCall, ...]:
    """The requests for this order's resources the pharmacy received (its own record), each key once."""
    resources = {resource_id(order_id) for _, resource_id in CREATES.values()}
    answers = served.pharmacy.answers()
    calls: dict[str, PharmacyCall] = {}
    for operation, resource, key in served.pharmacy.arrivals():
        if resource in resources and key not in calls:
            calls[key] = PharmacyCall(operation, answers.get(key))
    return tuple(calls.values())
