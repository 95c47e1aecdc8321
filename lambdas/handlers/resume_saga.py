"""Lambda handler: record an operator's resumption of a parked saga, name the next compensation."""

from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler("resume_saga", saga_steps.resume)
