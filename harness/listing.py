"""`saga list`: the newest sagas in some states, and how many there are in all (what a limit leaves out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.queries import parked_by
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState

if TYPE_CHECKING:
    from harness.target import Target


@dataclass(frozen=True)
class Listing:
    views: list[SagaView]
    """The newest `limit` of them, newest first."""
    total: int
    """How many sagas are in those states (counted by the state index)."""
    limit: int

    @property
    def cut(self) -> bool:
        """Whether the limit left some out."""
        return self.total > len(self.views)


def listing(target: Target, states: Iterable[SagaState], limit: int) -> Listing:
    projection = target.projection()
    found: list[SagaView] = []
    total = 0
    for state in sorted(set(states)):
        found.extend(projection.by_state(state.value, limit=limit))
        total += projection.count_by_state(state.value)
    found.sort(key=lambda v: v.updated_at, reverse=True)
    # Counted after the rows were read: a saga that moved between the two reads is still one saga.
    # A parked saga's row says which compensation failed and why (queries.parked_by).
    return Listing([parked_by(target, v) for v in found[:limit]], max(total, min(len(found), limit)), limit)
