"""`saga local up -c KEY=VALUE` and `--pharmacy reference`: the CDK context the local synthesis gets."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from harness.assembly import READ_PUBLISHED_EVENTS
from infra import names
from infra.pharmacy import PharmacyConfigurationError, pharmacy_api
from saga_cli.errors import Refused

REFERENCE = "reference"
"""`--pharmacy reference`: the reference pharmacy (pharmacy_reference/), started on 127.0.0.1."""
REFERENCE_SECRET = "saga-local/pharmacy-api-token"
"""The secret `--pharmacy reference` creates through the local Secrets Manager API."""
CONTEXT_KEY = re.compile(r"[A-Za-z0-9_:@/.-]{1,128}")
"""What a CDK context key looks like (cdk.json's own keys included)."""


def parse_context(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs, as `cdk deploy -c` takes them; a later one for the same key wins, as in the CDK CLI."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not CONTEXT_KEY.fullmatch(key):
            raise Refused("-c takes KEY=VALUE (for example -c pharmacy_api_url=https://pharmacy.example.com)")
        context[key] = value
    return context


@dataclass(frozen=True)
class ReferencePharmacy:
    """The reference pharmacy this process serves, and the token its secret holds."""

    url: str
    token: str


def synthesis_context(context: Mapping[str, str], reference: ReferencePharmacy | None) -> dict[str, str]:
    """The context to synthesize with, checked here so a wrong value is refused before the minutes of synthesis."""
    pharmacy_keys = (names.CONTEXT_PHARMACY_API_URL, names.CONTEXT_PHARMACY_API_SECRET)
    if reference is not None and any(key in context for key in pharmacy_keys):
        raise Refused(
            f"--pharmacy {REFERENCE} sets {' and '.join(pharmacy_keys)} itself: drop those -c values, or the option"
        )
    # The queue of published events is on locally (a `-c domain_events_queue=false` turns it off):
    # the tests and the chaos invariants read what was published from it.
    merged = {**READ_PUBLISHED_EVENTS, **context}
    if reference is not None:
        merged[names.CONTEXT_PHARMACY_API_URL] = reference.url
        merged[names.CONTEXT_PHARMACY_API_SECRET] = REFERENCE_SECRET
    try:
        pharmacy_api(merged.get)
    except PharmacyConfigurationError as wrong:
        raise Refused(str(wrong)) from None
    return merged


@contextmanager
def reference_pharmacy(wanted: str | None) -> Iterator[ReferencePharmacy | None]:
    """The reference pharmacy on 127.0.0.1 with a fresh token while the block runs (None: not wanted)."""
    if wanted is None:
        yield None
        return
    if wanted != REFERENCE:
        raise Refused(
            f"--pharmacy takes only {REFERENCE!r} (the reference pharmacy); for another, -c pharmacy_api_url=..."
        )
    from pharmacy_reference.server import preferred_port, serve

    token = secrets.token_urlsafe(32)
    # On its usual port when free: an unchanged app then reuses its synthesis (the URL is in the template).
    served = serve(token, port=preferred_port())
    try:
        yield ReferencePharmacy(served.url, token)
    finally:
        served.stop()
