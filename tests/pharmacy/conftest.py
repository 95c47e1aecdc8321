"""The reference pharmacy served on 127.0.0.1 for each test, and a contract-validating client of it."""

from __future__ import annotations

import pytest

from pharmacy_reference.server import Served
from tests.pharmacy.contract_client import ContractClient


@pytest.fixture
def client(served: Served) -> ContractClient:
    return ContractClient(served.url)
