"""`saga list`: the newest sagas in some states, and how many there are in all (what a limit leaves out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.queries import newest_sagas
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
    chosen = set(states)
    newest = newest_sagas(target, chosen, limit)
    # Counted after the rows were read: a saga that moved between the two reads is still one saga.
    projection = target.projection()
    total = sum(projection.count_by_state(state.value) for state in chosen)
    return Listing(newest.views, max(total, len(newest.views) + newest.more), limit)
