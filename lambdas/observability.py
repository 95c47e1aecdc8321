"""The Powertools Logger, Tracer and Metrics every handler shares, and the handler decorator."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

from lambdas.config import METRICS_NAMESPACE

SERVICE = "order-fulfillment"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

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

    traced = tracer.capture_lambda_handler(capture_response=False)(with_context)
    return metrics.log_metrics(traced)  # type: ignore[return-value]
