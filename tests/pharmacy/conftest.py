"""The reference pharmacy served on 127.0.0.1 for each test, and a contract-validating client of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pharmacy_reference.server import Served, serve
from tests.pharmacy.contract_client import TOKEN, ContractClient


@pytest.fixture
def served() -> Iterator[Served]:
    running = serve(TOKEN)
    yield running
    running.stop()


@pytest.fixture
def client(served: Served) -> ContractClient:
    return ContractClient(served.url)
