"""What the console reads beyond the CLI's queries (which it uses for everything they answer).

Kept apart from `harness.queries` so the page's own needs (a page of the list, counts from
the index, the deployed definition, the DLQ depth) do not crowd
the CLI's module; each is built on the same adapters and the same stack outputs.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import queries
from harness.target import Target
from infra import names
from lambdas.domain.projection import SagaView
from lambdas.domain.states import SagaState


@dataclass(frozen=True)
class Page:
    views: list[SagaView]
    next_before: str | None
    """The cursor of the next (older) page; None on the last page."""


def cursor_of(view: SagaView) -> str:
    return str(view.model_dump(mode="json")["updated_at"])


def sagas_page(target: Target, group: str | None, before: str | None, size: int) -> Page:
    """A page of sagas newest first (all of them, or a monitoring group), older than `before`.

    Each state's index is asked for at most a page past the cursor; their merge is cut to one
    page, whose last row's time is the next cursor: a page costs one query per state, however
    many sagas are stored.
    """
    newest = queries.newest_sagas(target, queries.STATE_GROUPS[group] if group else SagaState, size, before)
    return Page(newest.views, cursor_of(newest.views[-1]) if newest.more else None)


def counts(target: Target) -> dict[str, int]:
    """Sagas per state, counted on the state index (the list page shows them on every refresh)."""
    projection = target.projection()
    return {state.value: projection.count_by_state(state.value) for state in SagaState}


class RecentCounts:
    """`counts`, counted again at most every `seconds`: every page of the list shows them, and
    counting reads every row of a state (on AWS too: a COUNT query pages through the partition),
    where the rows of a page are one small query per state."""

    def __init__(self, target: Target, seconds: float) -> None:
        self._target, self._seconds = target, seconds
        self._lock = threading.Lock()
        self._counted: tuple[float, dict[str, int]] | None = None

    def get(self) -> tuple[dict[str, int], float]:
        """The counts and when they were counted (time.time())."""
        with self._lock:
            if self._counted is None or time.monotonic() - self._counted[0] >= self._seconds:
                self._counted = (time.monotonic(), counts(self._target))
            at, found = self._counted
        return found, time.time() - (time.monotonic() - at)


def group_counts(by_state: dict[str, int]) -> dict[str, int]:
    return {group: sum(by_state[s.value] for s in states) for group, states in queries.STATE_GROUPS.items()}


def saga(target: Target, order_id: str) -> SagaView | None:
    found = target.projection().get(order_id)
    return None if found is None else queries.parked_by(target, found)


def definition(target: Target) -> dict[str, Any]:
    """The saga state machine's definition as the stack has it now: read for each page, not kept by ARN,
    since a redeployment changes it under the same ARN (as does a restart of `saga local up` with
    other context: its names do not change, localcloud/naming.py)."""
    arn = target.output(names.OUTPUT_STATE_MACHINE)
    described = target.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    found: dict[str, Any] = json.loads(described["definition"])
    return found


def dead_letter_depth(target: Target) -> int:
    """Every message the dead-letter queue holds, in flight included (a redrive moves those visible)."""
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=target.output(names.OUTPUT_DEAD_LETTER_QUEUE),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def started_per_minute(target: Target, minutes: int = 10, now: datetime | None = None) -> list[tuple[str, int]]:
    """Sagas started in each of the last `minutes` minutes, oldest first ("HH:MM", count)."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    first = now - timedelta(minutes=minutes - 1)
    started = Counter(
        v.started_at.replace(second=0, microsecond=0)
        for v in target.projection().all()
        if v.started_at.replace(second=0, microsecond=0) >= first
    )
    return [(f"{m:%H:%M}", started.get(m, 0)) for m in (first + timedelta(minutes=i) for i in range(minutes))]
