"""An execution that ends unfinished: its saga is compensated, or parked when the compensations themselves end so."""

from __future__ import annotations

import json
import re

from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain.executions import Run, execution_name
from lambdas.domain.order import OrderCreated
from lambdas.domain.states import SagaState
from lambdas.logic.execution_outcome import record_execution_outcome
from lambdas.logic.repository import SagaRepository

SAGAS = "arn:aws:states:us-east-1:123456789012:stateMachine:saga"
COMPENSATIONS = "arn:aws:states:us-east-1:123456789012:stateMachine:compensations"
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # Step Functions: 1-80 characters, no spaces or specials


class Starts:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, order_id: str) -> bool:
        self.started.append(order_id)
        return True


def _event(machine: str, name: str, status: str, order_id: str) -> str:
    detail = {"stateMachineArn": machine, "name": name, "status": status, "input": json.dumps({"order_id": order_id})}
    return json.dumps({"detail": {**detail, "executionArn": f"{machine}:{name}"}})


def _repository_with_started_saga(order_id: str) -> tuple[SagaRepository, InMemoryEventStore]:
    store = InMemoryEventStore()
    repository = SagaRepository(store, source="test")
    saga = repository.load(order_id)
    saga.start(OrderCreated.model_validate({"order_id": order_id, "patient_id": "p", "medications": ["med-1"]}))
    repository.save(saga, causation_id="test")
    return repository, store


def test_compensation_executions_of_two_long_orders_sharing_a_prefix_have_different_valid_names() -> None:
    first, second = "o" * 60 + "a" * 20, "o" * 60 + "b" * 20
    assert execution_name(first, Run.COMPENSATION) != execution_name(second, Run.COMPENSATION)
    for order_id in (first, second, "order-123"):
        name = execution_name(order_id, Run.COMPENSATION)
        assert EXECUTION_NAME.match(name), name
        assert name == execution_name(order_id, Run.COMPENSATION), "one per order: a repeat is refused as a duplicate"
    assert execution_name("order-123", Run.COMPENSATION).startswith("order-123-")


def test_a_saga_execution_that_timed_out_is_compensated() -> None:
    repository, _ = _repository_with_started_saga("o-1")
    starts = Starts()
    outcome = record_execution_outcome(repository, starts, _event(SAGAS, "o-1", "TIMED_OUT", "o-1"), COMPENSATIONS)
    assert outcome.compensating
    assert starts.started == ["o-1"]
    assert repository.load("o-1").state is SagaState.COMPENSATING


def test_a_compensation_execution_that_ends_unfinished_parks_its_saga_and_starts_nothing() -> None:
    # Given a saga being compensated by the compensation machine
    repository, store = _repository_with_started_saga("o-2")
    record_execution_outcome(repository, Starts(), _event(SAGAS, "o-2", "ABORTED", "o-2"), COMPENSATIONS)
    # When that compensation execution times out (its name is not the order id)
    starts = Starts()
    name = execution_name("o-2", Run.COMPENSATION)
    outcome = record_execution_outcome(
        repository, starts, _event(COMPENSATIONS, name, "TIMED_OUT", "o-2"), COMPENSATIONS
    )
    # Then the saga is parked with the reason, for an operator to resume, and nothing is started again
    assert outcome.parked
    assert not outcome.compensating
    assert starts.started == []
    saga = repository.load("o-2")
    assert saga.state is SagaState.COMPENSATION_FAILED
    [failed] = [e.to_domain() for e in store.read("saga-o-2") if e.type == ev.CompensationFailed.TYPE_KEY]
    assert isinstance(failed, ev.CompensationFailed)
    assert failed.error == "CompensationExecutionTimedOut"
