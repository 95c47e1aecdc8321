"""Lambda handler: event-store stream -> saga projection, idempotent by event version.

The batch is applied by `project_batch` (lambdas/logic/project.py): saga by saga, the rows of
all the batch's sagas read together (BatchGetItem, 100 keys a request), each saga's row written
once per batch however many of its events the batch holds. A failure fails its records only.

It also emits the business metrics (sagas by outcome, compensations by step, duration),
since it applies each event exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.handlers.batch import stream_batch_response
from lambdas.handlers.stream import inserted
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.outcome_metrics import measures
from lambdas.logic.project import Applied, project_batch
from lambdas.observability import emit_now, logger, metrics, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _emit(applied: Applied) -> None:
    for measure in measures(applied.event.to_domain(), applied.view):
        if measure.dimension is None:
            metrics.add_metric(name=measure.name, unit=MetricUnit(measure.unit), value=measure.value)
        else:
            emit_now(measure.name, dict([measure.dimension]), value=measure.value, unit=measure.unit)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = inserted(event.get("Records", []))
    services = LambdaServices(source="projector")
    projected = project_batch(services.projection, services.event_store, records)
    for applied in projected.applied:
        _emit(applied)
    return stream_batch_response(event, context, projected.failures)
