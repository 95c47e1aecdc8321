"""The infrastructure tier's syntheses beyond tests/conftest.py's, each once per session.

A synthesis runs `python app.py` with both cdk-nag packs (seconds of CPU each): a test reads the template
of one of these, never builds the app again for its own assertions.
"""

from __future__ import annotations

import pytest

from harness.assembly import synthesize
from localcloud.deploy import CloudAssembly
from tests.infra.stacks import CONFIGURED, CONFIGURED_STACK, MIXED_PHARMACY


@pytest.fixture(scope="session")
def configured_assembly() -> CloudAssembly:
    """The stack as an operator configures it: its own name, order producers, the pharmacy's API."""
    return synthesize(CONFIGURED_STACK, context=CONFIGURED)


@pytest.fixture(scope="session")
def mixed_pharmacy_assembly() -> CloudAssembly:
    """Prescriptions and shipments at the pharmacy, inventory on the built-in tables (issue 24's mixed case)."""
    return synthesize(context=MIXED_PHARMACY)
