"""Lambda handler: the release inventory compensation of the saga."""

from functools import partial

from lambdas.domain.states import Compensation
from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler(
    Compensation.RELEASE_INVENTORY.value, partial(saga_steps.compensate, compensation=Compensation.RELEASE_INVENTORY)
)
