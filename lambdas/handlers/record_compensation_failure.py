"""Lambda handler: park a saga whose compensation kept failing as COMPENSATION_FAILED."""

from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler("record_compensation_failure", saga_steps.record_compensation_failure)
