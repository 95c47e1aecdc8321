"""Shared fixtures: one synthesis per session, a fresh local cloud per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from localcloud.cloud import EXPECTED_FUNCTION_ERRORS, LocalCloud
from localcloud.deploy import CloudAssembly, synthesize
from localcloud.seed import seed

settings.register_profile("ci", max_examples=150)
settings.register_profile("chaos", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def assembly() -> CloudAssembly:
    """The CDK app synthesized once per session, with the fault injection switch on."""
    return synthesize(fault_injection=True)


@pytest.fixture
def cloud(assembly: CloudAssembly, request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """A fresh local cloud with the stack deployed and the demo catalogue and stock seeded.

    After the test: nothing left undelivered, no call refused as AWS would refuse it (unless
    the test provokes refusals: @pytest.mark.allow_refusals), and no function raised an error
    other than the expected ones (a test may allow more with @pytest.mark.allow_errors("Name", ...)).
    """
    local = LocalCloud.start()
    try:
        local.deploy(assembly)
        seed(local.client("dynamodb"), local.outputs)
        yield local
        local.wait_until_idle(timeout=30)
        allowed = set(EXPECTED_FUNCTION_ERRORS)
        marker = request.node.get_closest_marker("allow_errors")
        if marker:
            allowed |= set(marker.args)
        unexpected = [e for e in local.runtime.errors if e[1] not in allowed]
        assert not unexpected, f"functions raised unexpected errors: {unexpected[:5]}"
        if request.node.get_closest_marker("allow_refusals") is None:
            assert not local.refusals(), f"calls AWS would refuse: {[r.message for r in local.refusals()[:5]]}"
        if request.node.get_closest_marker("allow_undelivered") is None:
            assert not local.undelivered(), f"event source deliveries given up: {local.undelivered()[:5]}"
            assert not local.undelivered_events(), f"events AWS would not deliver: {local.undelivered_events()[:5]}"
    finally:
        local.stop()
