"""When an execution ends without finishing its saga (timed out, aborted, failed unexpectedly).

No saga stays pending forever: such a saga is moved to COMPENSATING and its remaining
compensations are run by the compensation (resume) state machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from lambdas.domain.order import usable_order_id
from lambdas.logic.repository import SagaRepository

UNFINISHED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


class CompensationStarter(Protocol):
    def start(self, order_id: str) -> bool: ...


@dataclass(frozen=True)
class Outcome:
    order_id: str | None
    status: str
    compensating: bool


def record_execution_outcome(repository: SagaRepository, compensations: CompensationStarter, body: str) -> Outcome:
    """Handle one `Step Functions Execution Status Change` event (the SQS body holds it)."""
    detail = json.loads(body)["detail"]
    status = str(detail["status"])
    order_id = usable_order_id({"order_id": detail.get("name")})
    if order_id is None or status not in UNFINISHED_STATUSES:
        return Outcome(order_id, status, compensating=False)
    saga = repository.load(order_id)
    if not saga.exists or not saga.record_execution_ended(status):
        return Outcome(order_id, status, compensating=False)  # ended already: FAILED, COMPLETED, parked
    repository.save(saga, causation_id=str(detail.get("executionArn")))
    compensations.start(order_id)
    return Outcome(order_id, status, compensating=True)
