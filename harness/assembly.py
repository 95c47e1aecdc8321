"""The saga's CDK app synthesized as `cdk synth` would (cdk.json's context), for the local cloud to deploy."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra import names
from localcloud.deploy import CloudAssembly

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_SOURCES = ("app.py", "cdk.json", "infra", "lambdas")


READ_PUBLISHED_EVENTS: dict[str, str] = {names.CONTEXT_DOMAIN_EVENTS_QUEUE: "true"}
"""The context of the local tools that read the published domain events from a queue (the tests, the
chaos invariants, `saga local up`): a stack synthesized as cdk.json has it has no such queue."""


class SynthesisFailed(RuntimeError):
    pass


def _source_fingerprint(context: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode())
    for name in _SOURCES:
        path = PROJECT_ROOT / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(PROJECT_ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def synthesis_context(stack_name: str, *, fault_injection: bool) -> dict[str, Any]:
    """What the CDK CLI gives the app: cdk.json's context (feature flags included) and path metadata.

    The local cloud then deploys the template `cdk deploy` would, not a look-alike.
    """
    project: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return {
        **project,
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:enable-asset-metadata": True,
        "stack_name": stack_name,
        "fault_injection": "true" if fault_injection else "false",
    }


def synthesize(
    stack_name: str = "OrderFulfillment", *, fault_injection: bool = False, context: dict[str, Any] | None = None
) -> CloudAssembly:
    """Synthesize (`python app.py`) into cdk.out/local/<fingerprint>, reusing an unchanged one.

    `context` adds to cdk.json's, as `-c key=value` does (`order_producers`, say)."""
    context = {**synthesis_context(stack_name, fault_injection=fault_injection), **(context or {})}
    out = PROJECT_ROOT / "cdk.out" / "local" / _source_fingerprint(context)
    assembly = CloudAssembly(out, stack_name)
    if (out / "manifest.json").exists() and (out / f"{stack_name}.template.json").exists():
        return assembly
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }
    try:
        done = subprocess.run(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SynthesisFailed(f"`python app.py` failed:\n{done.stderr[-4000:]}")
        # OSError: another process (a parallel test worker) finished the same synthesis first.
        with contextlib.suppress(OSError):
            tmp.rename(out)
    finally:
        # What was not renamed into place, whatever the way out (Ctrl-C included): nothing
        # half-written stays behind.
        shutil.rmtree(tmp, ignore_errors=True)
    return assembly
