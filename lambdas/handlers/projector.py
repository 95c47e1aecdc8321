"""Lambda handler: event-store stream -> saga projection, idempotent by event version.

The events of a batch are applied saga by saga: the rows of all the batch's sagas are read
together (BatchGetItem, 100 keys a request), and each saga's row is written once per batch,
however many of its events the batch holds.

It also emits the business metrics (sagas by outcome, compensations by step, duration),
since it applies each event exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.config import METRICS_NAMESPACE
from lambdas.domain.events import StoredEvent
from lambdas.domain.projection import SagaView
from lambdas.handlers.batch import stream_batch_response
from lambdas.handlers.stream import stored_from_raw
from lambdas.handlers.wiring import LambdaServices
from lambdas.logic.outcome_metrics import measures
from lambdas.logic.project import project_many
from lambdas.observability import SERVICE, metrics, observed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _emit(stored: StoredEvent, view: SagaView) -> None:
    for measure in measures(stored.to_domain(), view):
        if measure.dimension is None:
            metrics.add_metric(name=measure.name, unit=MetricUnit(measure.unit), value=measure.value)
            continue
        with single_metric(
            name=measure.name, unit=MetricUnit(measure.unit), value=measure.value, namespace=METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name="service", value=SERVICE)
            metric.add_dimension(name=measure.dimension[0], value=measure.dimension[1])


def _project_batch(records: list[dict[str, Any]]) -> dict[str, Exception]:
    """Project the batch saga by saga (rows read together, one write each); the failures by
    sequence number.

    A saga whose projection fails fails all its records of the batch; the stream is then
    retried from the first of them, and what was applied meanwhile repeats as a no-op. If the
    rows cannot be read, every record fails.
    """
    streams: dict[str, list[tuple[str, StoredEvent]]] = {}
    for record in records:
        stored = stored_from_raw(record)
        if stored is not None:
            streams.setdefault(stored.stream_id, []).append((record["dynamodb"]["SequenceNumber"], stored))
    services = LambdaServices(source="projector")
    order_ids = {stream_id: events[0][1].metadata.correlation_id for stream_id, events in streams.items()}
    try:
        rows = services.projection.get_each(order_ids.values())
    except Exception as error:  # reported against every record: the stream retries the batch
        return {sequence_number: error for events in streams.values() for sequence_number, _ in events}
    failures: dict[str, Exception] = {}
    for stream_id, events in streams.items():
        try:
            row = rows.get(order_ids[stream_id])
            outcomes = project_many(
                services.projection,
                services.event_store,
                [stored for _, stored in events],
                current=row() if row else None,
            )
        except Exception as error:  # reported against each of the saga's records, below
            failures.update((sequence_number, error) for sequence_number, _ in events)
            continue
        for (_, stored), outcome in zip(events, outcomes, strict=True):
            if outcome.applied and outcome.view is not None:
                _emit(stored, outcome.view)
    return failures


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return stream_batch_response(event, context, _project_batch(event.get("Records", [])))
