"""Lambda handler: the initiate shipment step of the saga."""

from lambdas.domain.states import Step
from lambdas.handlers.task import task_handler
from lambdas.logic import saga_steps

handler = task_handler(Step.INITIATE_SHIPMENT.value, saga_steps.initiate_shipment)
