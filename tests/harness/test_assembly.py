"""Synthesis for the local cloud: `python app.py` as `cdk synth` runs it."""

from __future__ import annotations

import os

import pytest

from harness.assembly import PROJECT_ROOT, SynthesisFailed, synthesize
from infra import names


def test_a_synthesis_the_app_refuses_fails_and_leaves_nothing_half_written() -> None:
    # The app refuses fault injection in a production stack (infra/stack.py)
    ours = f"*.tmp{os.getpid()}"  # another test worker may be synthesizing beside us
    with pytest.raises(SynthesisFailed):
        synthesize("HalfWritten", fault_injection=True, context={names.CONTEXT_ENVIRONMENT: names.PRODUCTION})
    assert [p.name for p in (PROJECT_ROOT / "cdk.out" / "local").glob(ours)] == []
