"""Lambda handler: the create prescription step of the saga."""

from lambdas.domain.states import Step
from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler(Step.CREATE_PRESCRIPTION.value, saga_steps.create_prescription)
