"""A local cloud whose steps call the reference pharmacy over HTTP: for the demo, chaos and the bench."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.assembly import READ_PUBLISHED_EVENTS, synthesize
from harness.inprocess import InProcess, deployed
from infra import names
from pharmacy_reference.faults import Faults
from pharmacy_reference.server import Served, serve
from pharmacy_reference.service import Pharmacy

SECRET_NAME = "saga-harness/pharmacy-api-token"
"""The team's secret, created through the local Secrets Manager API as a team creates its own."""


@contextmanager
def deployed_over_http(
    *,
    faults: Faults | None = None,
    pharmacy: Pharmacy | None = None,
    steps: str | None = None,
    fault_injection: bool = False,
    seeded: bool = True,
    port: int = 0,
    domain_events_queue: bool = True,
    **cloud: Any,
) -> Iterator[tuple[InProcess, Served]]:
    """The reference pharmacy on 127.0.0.1 and a fresh local cloud with the stack pointed at it
    (`steps`: the `pharmacy_api_steps` context, all three when None), its token's secret created.
    `port` 0: a free one; a fixed one keeps the URL, so its synthesis is reused from one run to the next.
    `domain_events_queue`: the queue the local tools read published events from (READ_PUBLISHED_EVENTS)."""
    token = secrets.token_urlsafe(32)
    served = serve(token, faults, pharmacy, port)
    try:
        context = {names.CONTEXT_PHARMACY_API_URL: served.url, names.CONTEXT_PHARMACY_API_SECRET: SECRET_NAME}
        if steps is not None:
            context[names.CONTEXT_PHARMACY_API_STEPS] = steps
        if domain_events_queue:
            context.update(READ_PUBLISHED_EVENTS)
        assembly = synthesize(fault_injection=fault_injection, context=context)
        with deployed(assembly, seeded=seeded, **cloud) as target:
            target.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=token)
            yield target, served
    finally:
        served.stop()
