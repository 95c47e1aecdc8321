"""The saga projection contract, written once, run against the fake and the DynamoDB projection.

The port the logic writes through is `ProjectionStore` (lambdas/logic/ports.py): the projector
writes a saga's row conditioned on the version it read (a conflict when another writer moved the
row on) and a rebuild replaces it. What the projector reads the rows with, and the monitoring
queries the CLI and the console run on the `by-state` index, are specified here as well: a write
is only as good as what reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters.dynamodb_projection import DynamoDBProjection
from lambdas.domain.errors import ConcurrencyConflict
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState
from lambdas.logic.ports import ProjectionStore
from localcloud import patches
from tests.concurrency import at_once
from tests.contract.tables import create_table
from tests.fakes import FakeProjection


class SagaViews(ProjectionStore, Protocol):
    """The projection as its writer and its readers (projector, CLI, console) use it."""

    def get(self, order_id: str) -> SagaView | None: ...

    def get_many(self, order_ids: Iterable[str]) -> dict[str, SagaView]: ...

    def get_each(self, order_ids: Iterable[str]) -> dict[str, Callable[[], SagaView]]: ...

    def states(self, order_ids: Iterable[str]) -> dict[str, str]: ...

    def by_state(self, state: str, limit: int | None = None, before: str | None = None) -> Iterator[SagaView]: ...

    def count_by_state(self, state: str) -> int: ...

    def all(self) -> Iterator[SagaView]: ...


@pytest.fixture(params=["fake", "dynamodb"])
def projection(request: pytest.FixtureRequest) -> Iterator[SagaViews]:
    if request.param == "fake":
        yield FakeProjection()
        return
    patches.apply_patches()  # DynamoDB as atomic as the real one under threads (localcloud/patches/dynamodb.py)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield DynamoDBProjection(client, create_table(client, "EventStoreSagas", "sagas"))


T0 = datetime(2025, 3, 1, 9, 30, 0, 250_000, tzinfo=UTC)


def view(order_id: str = "o", version: int = 1, state: SagaState = SagaState.STARTED, at: float = 0.0) -> SagaView:
    """A saga's row at `version`, last updated `at` seconds after T0."""
    return SagaView(
        order_id=order_id, state=state, version=version, started_at=T0, updated_at=T0 + timedelta(seconds=at)
    )


FAILED = SagaView(
    order_id="o-failed",
    state=SagaState.FAILED,
    version=11,
    started_at=T0,
    updated_at=T0 + timedelta(seconds=1.5),
    ended_at=T0 + timedelta(seconds=1.5),
    duration_seconds=1.5,
    steps_completed=("create_prescription",),
    compensations_run=("cancel_prescription", "cancel_order"),
    failed_step="reserve_inventory",
    failure_reason="line 2: not enough stock",
    conflicting_orders=2,
)
"""A row with every field set."""


def test_a_first_write_reads_back_unchanged_every_field_included(projection: SagaViews) -> None:
    projection.put(FAILED, previous_version=None)
    projection.put(view("o-bare"), previous_version=None)
    assert projection.get("o-failed") == FAILED
    assert projection.get("o-bare") == view("o-bare")
    assert projection.get("o-missing") is None


def test_a_first_write_over_an_existing_row_is_a_conflict_and_leaves_the_row(projection: SagaViews) -> None:
    projection.put(view(version=3), previous_version=None)
    with pytest.raises(ConcurrencyConflict):
        projection.put(view(version=1), previous_version=None)
    assert projection.get("o") == view(version=3)


def test_a_write_conditioned_on_the_version_read_moves_the_row_on(projection: SagaViews) -> None:
    projection.put(view(version=1), previous_version=None)
    moved = view(version=4, state=SagaState.PENDING_INVENTORY, at=2)
    projection.put(moved, previous_version=1)
    assert projection.get("o") == moved


def test_a_write_conditioned_on_a_version_the_row_has_left_is_a_conflict_and_changes_nothing(
    projection: SagaViews,
) -> None:
    projection.put(view(version=1), previous_version=None)
    projection.put(view(version=3), previous_version=1)
    with pytest.raises(ConcurrencyConflict):
        projection.put(view(version=2), previous_version=1)
    assert projection.get("o") == view(version=3)


def test_a_write_conditioned_on_a_version_of_a_row_that_does_not_exist_is_a_conflict(projection: SagaViews) -> None:
    with pytest.raises(ConcurrencyConflict):
        projection.put(view(version=3), previous_version=2)
    assert projection.get("o") is None


def test_a_conditional_write_lost_to_a_concurrent_writer_raises_the_ports_conflict_error(
    projection: SagaViews,
) -> None:
    projection.put(view(version=1), previous_version=None)

    def writer(n: int) -> str:
        try:
            projection.put(view(version=2, at=n), previous_version=1)
        except ConcurrencyConflict:
            return "conflict"
        return f"won {n}"

    outcomes = at_once(10, writer)
    [won] = [o for o in outcomes if o != "conflict"]
    assert outcomes.count("conflict") == 9
    assert projection.get("o") == view(version=2, at=int(won.split()[1])), "the row is the winner's"


def test_a_rebuild_replaces_the_row_whatever_its_version(projection: SagaViews) -> None:
    projection.put(view(version=7, state=SagaState.COMPENSATING), previous_version=None)
    rebuilt = view(version=5, state=SagaState.PENDING_SHIPMENT)
    projection.replace(rebuilt)
    projection.replace(view("o-new"))
    assert projection.get("o") == rebuilt
    assert projection.get("o-new") == view("o-new")


def test_rows_read_together_are_those_that_exist_each_once_however_many_are_asked_for(projection: SagaViews) -> None:
    stored = [view(f"o-{n}", version=n + 1) for n in range(0, 150, 2)]
    for each in stored:
        projection.put(each, previous_version=None)
    asked = [f"o-{n}" for n in range(150)] + ["o-0", "o-2"]  # more than one BatchGetItem holds, two repeated
    expected = {v.order_id: v for v in stored}
    assert projection.get_many(asked) == expected
    assert {o: row() for o, row in projection.get_each(asked).items()} == expected
    assert projection.states(asked) == dict.fromkeys(expected, "STARTED")
    assert projection.get_many([]) == {}


def test_all_yields_every_row_once(projection: SagaViews) -> None:
    stored = [view(f"o-{n}", version=n + 1, at=n) for n in range(5)]
    for each in stored:
        projection.put(each, previous_version=None)
    assert sorted(projection.all(), key=lambda v: v.order_id) == stored


def _list(projection: SagaViews, state: SagaState, limit: int | None = None, before: str | None = None) -> list[str]:
    return [v.order_id for v in projection.by_state(state.value, limit=limit, before=before)]


def test_sagas_in_a_state_are_listed_newest_first_by_last_update_sub_second_updates_included(
    projection: SagaViews,
) -> None:
    # Updated at T0 + 0.75 s (a whole second: no fraction in its ISO time), + 0.5 s, + 1.25 s and + 2 s.
    for order_id, at in (("whole", 0.75), ("half", 0.5), ("later", 1.25), ("latest", 2.0)):
        projection.put(view(order_id, state=SagaState.FAILED, at=at), previous_version=None)
    projection.put(view("other-state", state=SagaState.COMPLETED, at=3), previous_version=None)
    assert _list(projection, SagaState.FAILED) == ["latest", "later", "whole", "half"]
    assert _list(projection, SagaState.FAILED, limit=2) == ["latest", "later"]
    assert _list(projection, SagaState.PENDING_SHIPMENT) == []


def test_a_page_before_a_time_lists_only_sagas_updated_strictly_before_it(projection: SagaViews) -> None:
    for order_id, at in (("whole", 0.75), ("half", 0.5), ("later", 1.25), ("latest", 2.0)):
        projection.put(view(order_id, state=SagaState.FAILED, at=at), previous_version=None)
    # The console's cursor: the last listed row's time as the row serialises it.
    cursor = str(view(state=SagaState.FAILED, at=0.75).model_dump(mode="json")["updated_at"])
    assert _list(projection, SagaState.FAILED, before=cursor) == ["half"]
    later = str(view(at=1.25).model_dump(mode="json")["updated_at"])
    assert _list(projection, SagaState.FAILED, limit=1, before=later) == ["whole"]


def test_a_saga_that_changes_state_leaves_the_old_states_list_and_counts(projection: SagaViews) -> None:
    projection.put(view("a", version=1, state=SagaState.PENDING_INVENTORY), previous_version=None)
    projection.put(view("b", version=1, state=SagaState.PENDING_INVENTORY, at=1), previous_version=None)
    projection.put(view("a", version=2, state=SagaState.COMPENSATION_FAILED, at=2), previous_version=1)
    assert _list(projection, SagaState.PENDING_INVENTORY) == ["b"]
    assert _list(projection, SagaState.COMPENSATION_FAILED) == ["a"]
    assert projection.count_by_state(SagaState.PENDING_INVENTORY.value) == 1
    assert projection.count_by_state(SagaState.COMPENSATION_FAILED.value) == 1
    assert projection.count_by_state(SagaState.COMPLETED.value) == 0
