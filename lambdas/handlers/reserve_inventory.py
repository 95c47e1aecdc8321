"""Lambda handler: the reserve inventory step of the saga."""

from lambdas.domain.states import Step
from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler(Step.RESERVE_INVENTORY.value, saga_steps.reserve_inventory)
