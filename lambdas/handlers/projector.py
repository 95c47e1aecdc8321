"""Lambda handler: event-store stream -> saga projection, idempotent by event version.

It also emits the business metrics (sagas by outcome, compensations by step, duration),
since it applies each event exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.config import METRICS_NAMESPACE
from lambdas.handlers.batch import partial_batch_response
from lambdas.handlers.stream import stored_event
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.outcome_metrics import measures
from lambdas.logic.project import project
from lambdas.observability import SERVICE, metrics, observed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _project_one(record: DynamoDBRecord) -> None:
    stored = stored_event(record)
    if stored is None:
        return
    services = LambdaServices(source="projector")
    projected = project(services.projection, services.event_store, stored)
    if not projected.applied or projected.view is None:
        return
    for measure in measures(stored.to_domain(), projected.view):
        if measure.dimension is None:
            metrics.add_metric(name=measure.name, unit=MetricUnit(measure.unit), value=measure.value)
            continue
        with single_metric(
            name=measure.name, unit=MetricUnit(measure.unit), value=measure.value, namespace=METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name="service", value=SERVICE)
            metric.add_dimension(name=measure.dimension[0], value=measure.dimension[1])


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return partial_batch_response(event, context, "DynamoDBStreams", _project_one)
