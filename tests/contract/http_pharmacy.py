"""The HTTP adapters' side of the contract suites: the reference pharmacy served on 127.0.0.1 and a client of it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import urllib3

from lambdas.adapters.pharmacy_http_client import PharmacyClient
from lambdas.domain.rules import CatalogueEntry
from pharmacy_reference.server import Served, serve
from pharmacy_reference.service import Pharmacy

TOKEN = "contract-suite-token"


@contextmanager
def pharmacy(
    stock: Mapping[str, int] | None = None, catalogue: Mapping[str, CatalogueEntry] | None = None
) -> Iterator[tuple[Served, PharmacyClient]]:
    """The reference pharmacy (`catalogue` and `stock`, else the demo's) and a client with its token."""
    served = serve(TOKEN, pharmacy=Pharmacy(catalogue_entries=catalogue, stock=stock))
    # As many pooled connections as a race test has threads; a Lambda sends one request at a time.
    client = PharmacyClient(served.url, lambda: TOKEN, pool=urllib3.PoolManager(maxsize=32, retries=False))
    try:
        yield served, client
    finally:
        served.stop()
