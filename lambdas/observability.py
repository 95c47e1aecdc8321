"""The Powertools Logger, Tracer and Metrics every handler shares.

A handler stacks Powertools' own decorators, as the cookbook's do:

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    @traced
    def handler(event, context): ...
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.contract import METRICS_NAMESPACE, SERVICE, SERVICE_DIMENSION

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# Most invocations emit no business metric (a projector run, a repeated step): that is normal.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@functools.cache
def tracer() -> Tracer:
    # Made on the first invocation, not at import: building it loads the X-Ray SDK and its botocore
    # client, as long again as `import boto3`, which would break the handlers' import budget (make bench).
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


Result = TypeVar("Result")


def traced(handler: Callable[[Any, Any], Result]) -> Callable[[Any, Any], Result]:
    """`tracer().capture_lambda_handler(capture_response=False)`, with the tracer made on first use."""

    @functools.wraps(handler)
    def capture(event: Any, context: Any) -> Result:
        result: Result = tracer().capture_lambda_handler(handler, capture_response=False)(event, context)
        return result

    return capture


def emit_now(name: str, dimensions: Mapping[str, str] | None = None, *, value: float = 1, unit: str = "Count") -> None:
    """One metric with its own dimensions, flushed at once (the shared `metrics` has one dimension set)."""
    with single_metric(name=name, unit=MetricUnit(unit), value=value, namespace=METRICS_NAMESPACE) as metric:
        metric.add_dimension(name=SERVICE_DIMENSION, value=SERVICE)
        for key, dimension in (dimensions or {}).items():
            metric.add_dimension(name=key, value=dimension)
