"""The Powertools Logger, Tracer and Metrics every handler shares, and the handler decorator."""

from __future__ import annotations

import functools
import threading
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


@functools.cache
def tracer() -> Tracer:
    """The X-Ray tracer, made on first use: creating it builds the X-Ray SDK's recorder and its
    botocore client (about as long as importing boto3), which would double a handler's import."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def emit_now(name: str, dimensions: Mapping[str, str] | None = None, *, value: float = 1, unit: str = "Count") -> None:
    """One metric with its own dimensions, flushed at once (the shared `metrics` has one dimension set)."""
    with single_metric(name=name, unit=MetricUnit(unit), value=value, namespace=METRICS_NAMESPACE) as metric:
        metric.add_dimension(name=SERVICE_DIMENSION, value=SERVICE)
        for key, dimension in (dimensions or {}).items():
            metric.add_dimension(name=key, value=dimension)


# Most invocations emit no business metric (a projector run, a repeated step): that is normal.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = TypeVar("Handler", bound=Callable[..., Any])

_cold = True


def observed(handler: Handler) -> Handler:
    """Tracing, metrics flushing and the Lambda context on every log line of the invocation.

    The context keys are thread-local (`thread_safe_append_keys`), unlike
    `Logger.inject_lambda_context`, because the local cloud runs invocations of several
    functions at once in one process.
    """

    @functools.wraps(handler)
    def with_context(event: Any, context: Any) -> Any:
        global _cold
        cold_start, _cold = _cold, False
        logger.thread_safe_append_keys(
            function_name=context.function_name,
            function_request_id=context.aws_request_id,
            cold_start=cold_start,
        )
        try:
            return handler(event, context)
        finally:
            logger.thread_safe_clear_keys()

    traced: list[Callable[[Any, Any], Any]] = []
    tracing = threading.Lock()

    @functools.wraps(handler)
    def with_tracing(event: Any, context: Any) -> Any:
        if not traced:
            with tracing:
                if not traced:
                    traced.append(tracer().capture_lambda_handler(capture_response=False)(with_context))
        return traced[0](event, context)

    return metrics.log_metrics(with_tracing)  # type: ignore[return-value]
