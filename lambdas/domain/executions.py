"""The name of every Step Functions execution the saga starts, built here and nowhere else.

One execution per order runs the saga, named by the order id; one per order runs its compensations
when that execution ended unfinished; each operator's resume of a parked saga runs a fresh one.
StartExecution's rules for a name (AWS Step Functions API Reference, StartExecution, `name`): 1 to 80
characters; no whitespace, brackets `< > { } [ ]`, wildcards `? *`, special characters
`" # % \\ ^ | ~ ` $ & , ; : /` or control characters; and only `0-9 A-Z a-z - _` for the execution to
be logged to CloudWatch Logs. An order id is made of that alphabet already (`ORDER_ID_PATTERN`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from enum import StrEnum
from typing import NewType

from lambdas.domain.order import usable_order_id

ExecutionName = NewType("ExecutionName", str)
"""A name `execution_name` built: the only kind StartExecution is given (lambdas/adapters/step_functions.py)."""

NAME_MAX = 80
LOGGABLE_NAME = re.compile(rf"[0-9A-Za-z_-]{{1,{NAME_MAX}}}")
"""What a name may be and still be logged to CloudWatch Logs (StartExecution, `name`)."""
RESUME_PREFIX_MAX = 60
"""The order id's share of a resume's name: the rest says it is a resume, and which."""


class Run(StrEnum):
    """What an execution runs for its order."""

    SAGA = "saga"
    COMPENSATION = "compensate"
    RESUME = "resume"


def name_of(execution_arn: str) -> str:
    """The execution's name, from its ARN (`arn:…:execution:MACHINE:NAME`; a name holds no `:`)."""
    return execution_arn.rsplit(":", 1)[-1]


def execution_name(order_id: str, run: Run, *, resume_id: str | None = None) -> ExecutionName:
    """The name of the order's execution of `run`.

    SAGA: the order id itself (one saga per order id: a second start of it is refused as a duplicate).
    COMPENSATION: one per order, as long as allowed and never another order's: the order id as far as it
    fits, then a digest of all of it (two ids sharing a prefix differ there). RESUME: a new name each
    time (`resume_id`, 8 characters of a random UUID unless given)."""
    if usable_order_id({"order_id": order_id}) is None:
        raise ValueError("not an order id: an execution is named after a valid order id only")
    match run:
        case Run.SAGA:
            name = order_id
        case Run.COMPENSATION:
            suffix = f"-{hashlib.sha256(order_id.encode()).hexdigest()[:20]}-{run.value}"
            name = f"{order_id[: NAME_MAX - len(suffix)]}{suffix}"
        case Run.RESUME:
            name = f"{order_id[:RESUME_PREFIX_MAX]}-{run.value}-{resume_id or uuid.uuid4().hex[:8]}"
    if not LOGGABLE_NAME.fullmatch(name):
        raise ValueError(f"the {run.value} execution's name would not be a loggable execution name")
    return ExecutionName(name)
