"""The HTTP chaos run at CI size (make chaos runs 1,000): every step over HTTP against a reference
pharmacy that answers 500, holds requests past the client's timeout, drops answers after the work
and answers slowly, while orders arrive one to three times; the invariants read its own records."""

from __future__ import annotations

import json
from dataclasses import replace

from harness import queries
from harness.chaos import over_http
from harness.chaos import run as chaos
from harness.chaos.at_the_pharmacy import AtThePharmacy, Compensated
from harness.chaos.invariants import Observed
from harness.chaos.pharmacy_invariants import PHARMACY_INVARIANTS, each_order_ends_as_its_kind_says
from harness.inprocess import InProcess
from harness.orders import Kind
from harness.pharmacy_api import deployed_over_http
from infra import names
from lambdas.domain import events as ev
from lambdas.domain.errors import PharmacyUnavailable
from lambdas.domain.states import SagaState, Step
from pharmacy_reference.faults import Faults
from pharmacy_reference.records import Kind as RecordKind

SAGAS = 120
SEED = 11
"""The pharmacy draws its faults from one sequence seeded by the run, in arrival order: whichever
requests meet them, its first 250 draws hold 13 500s, 6 holds and 5 drops (these 120 sagas make
over 300 requests), so the faults happen on every run."""


# One test per run, each run in one test: `make test` spreads tests over two workers (pytest -n 2),
# and a fixture shared by tests on both would run the sagas twice.


def test_a_hundred_and_twenty_sagas_at_a_misbehaving_pharmacy_keep_every_invariant() -> None:
    report = over_http.run(SAGAS, seed=SEED)
    chaos.print_report(report)

    # Every saga settled, orders arrived more than once, and each kind was sent.
    assert report.unfinished == []
    assert sum(report.final_states.values()) == SAGAS
    assert report.duplicates > 0
    assert {"COMPLETED", "FAILED", "REJECTED"} <= set(report.final_states)
    # The pharmacy really misbehaved, and the steps met it: every hold outlasts the client's read
    # timeout (a timeout the steps saw, then a late arrival); every 500 reached them.
    faults = report.faults
    assert faults["pharmacy: HTTP 500"] > 0
    assert faults["pharmacy: held past the client's timeout"] > 0
    assert faults["pharmacy: response dropped after the work"] > 0
    assert faults["steps saw: no answer (ReadTimeoutError)"] >= faults["pharmacy: held past the client's timeout"]
    assert faults["steps saw: HTTP 500"] == faults["pharmacy: HTTP 500"]
    # Every invariant holds.
    assert set(PHARMACY_INVARIANTS) <= set(report.violations), "the pharmacy's invariants were checked"
    assert {name: problems[:3] for name, problems in report.violations.items() if problems} == {}


DROPS_THE_THIRD_ANSWER = 25
"""With drop_rate 0.5, the seed whose 1st, 2nd and 4th draws keep their answer and the 3rd drops it."""


def test_a_cancel_whose_answer_was_lost_is_still_announced() -> None:
    # Given one no-stock order and a pharmacy that drops exactly its third answer
    with deployed_over_http(faults=Faults(drop_rate=0.5, seed=DROPS_THE_THIRD_ANSWER)) as (cloud, served):
        cloud.put_order({"order_id": "lost-undo-1", "patient_id": "patient-1", "medications": ["med-scarce"]})
        assert cloud.wait_for_sagas(["lost-undo-1"]) == {"lost-undo-1": "FAILED"}
        assert served.traffic.wait_idle(over_http.LATE_ARRIVALS_WAIT_SECONDS)
        stream = [e.type for e in queries.history(cloud, "lost-undo-1")]
        records = {r.kind.label: r.status for r in served.pharmacy.records()}
        arrived = [operation for operation, _, _ in served.pharmacy.arrivals()]
    # When: the prescription made (201), the reservation refused (409: no stock at the pharmacy), the
    # cancel done with its answer lost, and sent again (the first answer replayed): undone once
    assert arrived == ["createPrescription", "reserveInventory", "cancelPrescription", "cancelPrescription"]
    assert records == {RecordKind.PRESCRIPTION.label: RecordKind.PRESCRIPTION.undone}
    assert ev.PrescriptionCreated.TYPE_KEY in stream
    # Then subscribers told of the prescription hear that it is cancelled, as the pharmacy's record is
    # (found by the chaos run: the saga announced only an undo its own call did)
    assert ev.PrescriptionCancelled.TYPE_KEY in stream


def _attempts_on(cloud: InProcess, state: str, error: str) -> int:
    """How many times the deployed state machine runs `state` when every attempt fails with `error`: the
    first retrier matching it (Step Functions scans them in order), 1 + its MaxAttempts (3 when absent;
    CDK RetryProps, docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.aws_stepfunctions/RetryProps.html)."""
    machine = cloud.client("stepfunctions").describe_state_machine(
        stateMachineArn=cloud.output(names.OUTPUT_STATE_MACHINE)
    )
    retriers = json.loads(machine["definition"])["States"][state].get("Retry", [])
    retrier = next(r for r in retriers if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"])
    return 1 + int(retrier.get("MaxAttempts", 3))


def test_a_step_crashed_by_the_pharmacys_503s_is_read_as_the_faults_injected_and_nothing_else() -> None:
    with deployed_over_http() as (cloud, served):
        # Given a pharmacy answering 503 to each key as many times as the first step tries (a 5xx is
        # transient: docs/pharmacy-api.yaml), then serving it (the compensation tries longer)
        attempts = _attempts_on(cloud, Step.CREATE_PRESCRIPTION.console_name, PharmacyUnavailable.__name__)
        served.plan.change(Faults(unavailable_first=attempts))
        order_id = "crashed-by-503s-1"
        cloud.put_order({"order_id": order_id, "patient_id": "patient-1", "medications": ["med-1"]})
        states = cloud.wait_for_sagas([order_id])
        assert served.traffic.wait_idle(over_http.LATE_ARRIVALS_WAIT_SECONDS)
        # When the run reads why its saga compensated
        why = over_http.compensated(Observed(cloud, [order_id], states, [], {}, plan={}))
        pharmacy = served.pharmacy
        run = AtThePharmacy(
            kinds={order_id: Kind.VALID},
            states=states,
            records=pharmacy.records(),
            arrivals=pharmacy.arrivals(),
            initial_stock={},
            stock={},
            compensated=why,
            injected=frozenset({"HTTP 503"}),
        )
    # Then the saga failed, and its own records give the caught error's name and each attempt's 503
    assert states == {order_id: SagaState.FAILED.value}
    assert why == {
        order_id: Compensated(
            SagaState.PENDING_PRESCRIPTION.value,
            PharmacyUnavailable.__name__,
            False,
            attempts,
            ("HTTP 503",) * attempts,
        )
    }
    # and the 503s this pharmacy was told to answer explain the failure, and nothing else would
    assert each_order_ends_as_its_kind_says(run) == []
    assert each_order_ends_as_its_kind_says(replace(run, injected=frozenset({"HTTP 500"}))) == [
        f"{order_id}: valid order ended FAILED: Create Prescription crashed on PharmacyUnavailable after {attempts}"
        f" attempts meeting {', '.join(['HTTP 503'] * attempts)}"
    ]
