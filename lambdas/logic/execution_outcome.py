"""When an execution ends without finishing its saga (timed out, aborted, failed unexpectedly).

No saga stays pending forever: such a saga is moved to COMPENSATING and its remaining
compensations are run by the compensation (resume) state machine. When an execution of that
machine itself ends unfinished, starting it again could loop: the saga is parked instead
(COMPENSATION_FAILED, with its alert), for an operator to resume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas.domain.order import usable_order_id
from lambdas.logic.ports import CompensationStarter
from lambdas.logic.repository import SagaRepository

UNFINISHED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
ENDED_UNFINISHED = "ExecutionEndedUnfinished"
"""Why the compensation machine runs when an execution ended unfinished (its input's `error.Error`)."""
RESUMED_BY_OPERATOR = "ResumedByOperator"
"""Why it runs when an operator resumes a parked saga (`saga resume`)."""


@dataclass(frozen=True)
class Outcome:
    order_id: str | None
    status: str
    compensating: bool
    parked: bool = False


def compensation_input(order_id: str, reason: str) -> dict[str, Any]:
    """The compensation (resume) machine's input: the order, and why its compensations run."""
    return {"order_id": order_id, "error": {"Error": reason}}


def _order_id(detail: dict[str, Any]) -> str | None:
    """From the execution's input (its `order_id`: tasks get ids only), else its name (the saga's
    own executions are named after their orders)."""
    try:
        execution_input = json.loads(detail.get("input") or "null")
    except (TypeError, ValueError):
        execution_input = None
    return usable_order_id(execution_input) or usable_order_id({"order_id": detail.get("name")})


def record_execution_outcome(
    repository: SagaRepository, compensations: CompensationStarter, body: str, compensation_machine: str | None = None
) -> Outcome:
    """Handle one `Step Functions Execution Status Change` event (the SQS body holds it)."""
    detail = json.loads(body)["detail"]
    status = str(detail["status"])
    order_id = _order_id(detail)
    if order_id is None or status not in UNFINISHED_STATUSES:
        return Outcome(order_id, status, compensating=False)
    saga = repository.load(order_id)
    if compensation_machine is not None and detail.get("stateMachineArn") == compensation_machine:
        if not saga.exists or not saga.park_unfinished_compensations(status):
            return Outcome(order_id, status, compensating=False)
        repository.save(saga, causation_id=str(detail.get("executionArn")))
        return Outcome(order_id, status, compensating=False, parked=True)
    if not saga.exists or not saga.record_execution_ended(status):
        return Outcome(order_id, status, compensating=False)  # ended already: FAILED, COMPLETED, parked
    repository.save(saga, causation_id=str(detail.get("executionArn")))
    compensations.start(order_id)
    return Outcome(order_id, status, compensating=True)
