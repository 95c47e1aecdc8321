"""Shared fixtures: one synthesis per session, a fresh local cloud per test, the reference pharmacy."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from harness.assembly import READ_PUBLISHED_EVENTS, synthesize
from harness.inprocess import InProcess, deployed
from infra import names
from localcloud.deploy import CloudAssembly
from pharmacy_reference.server import Served, serve

settings.register_profile("ci", max_examples=150)
settings.register_profile("chaos", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("target", "where the end-to-end suite runs (tests/e2e/conftest.py)")
    group.addoption("--target", choices=("inprocess", "endpoint", "aws"), default="inprocess")
    group.addoption("--endpoint-url", default=None, help="a running `saga local up` (else one is started)")
    group.addoption("--stack", default=names.DEFAULT_STACK_NAME, help="the deployed stack's name")


@pytest.fixture(scope="session")
def assembly() -> CloudAssembly:
    """The CDK app synthesized once per session, with the fault injection switch on."""
    return synthesize(fault_injection=True, context=READ_PUBLISHED_EVENTS)


@pytest.fixture(scope="session")
def deployable_assembly() -> CloudAssembly:
    """The CDK app synthesized once per session as `cdk deploy` ships it: cdk.json's context alone."""
    return synthesize()


@pytest.fixture
def cloud(assembly: CloudAssembly, request: pytest.FixtureRequest) -> Iterator[InProcess]:
    """A fresh local cloud with the stack deployed and the demo catalogue and stock seeded.

    After the test: nothing left undelivered, no call refused as AWS would refuse it (unless
    the test provokes refusals: @pytest.mark.allow_refusals), and no function raised an error
    other than the expected ones (a test may allow more with @pytest.mark.allow_errors("Name", ...)).
    """
    with deployed(assembly) as target:
        yield target
        local = target.local
        local.wait_until_idle(timeout=30)
        marker = request.node.get_closest_marker("allow_errors")
        unexpected = target.unexpected_errors(frozenset(marker.args if marker else ()))
        assert not unexpected, f"functions raised unexpected errors: {unexpected[:5]}"
        if request.node.get_closest_marker("allow_refusals") is None:
            assert not local.refusals(), f"calls AWS would refuse: {[r.message for r in local.refusals()[:5]]}"
        if request.node.get_closest_marker("allow_undelivered") is None:
            assert not local.undelivered(), f"event source deliveries given up: {local.undelivered()[:5]}"
            assert not local.undelivered_events(), f"events AWS would not deliver: {local.undelivered_events()[:5]}"


@pytest.fixture
def served() -> Iterator[Served]:
    """The reference pharmacy on 127.0.0.1, its token tests.pharmacy.contract_client.TOKEN."""
    from tests.pharmacy.contract_client import TOKEN  # it loads the OpenAPI file: only where a test serves

    running = serve(TOKEN)
    yield running
    running.stop()
