"""The Powertools Logger, Tracer and Metrics every handler shares."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from lambdas.config import METRICS_NAMESPACE

SERVICE = "order-fulfillment"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
