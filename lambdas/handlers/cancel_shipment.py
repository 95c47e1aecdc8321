"""Lambda handler: the cancel shipment compensation of the saga."""

from functools import partial

from lambdas.domain.states import Compensation
from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler(
    Compensation.CANCEL_SHIPMENT.value, partial(saga_steps.compensate, compensation=Compensation.CANCEL_SHIPMENT)
)
