"""The local cloud's patches of moto (pinned: MOTO_VERSION), each declared once.

Each patch is a `Patch` record (`localcloud/patching.py`): the attribute it replaces, the
replacement, its kind (`GAP`: closes a behaviour gap with AWS; `SPEED`: saves time or memory
only) and why. They live with what they patch: a module here per AWS service of moto
(`awslambda`, `cloudformation`, `dynamodb`, `dynamodbstreams`, `events`, `sqs`, `stepfunctions`)
and `core` for moto's core and botocore's request plumbing; a feature that is more than a patch
declares its patches beside its code (`access/enforcement`, `alarms`, `deliveries`,
`execution_environments`, `limits`, `sqs_move_tasks`, `transport`). Each module's `PATCHES` is
gathered here into one list, from which `apply_patches()` installs every patch and
`remove_patches()` puts moto's own objects back.

To add a patch: declare it in its module's `PATCHES` and pin it with a test
(`@pins("<id>")` in tests/localcloud) that fails loudly if moto stops having the gap. A module
declaring patches is listed in DECLARING_MODULES, and may not import from this package (the
package imports it). docs/local-cloud.md lists the patches: `python -m localcloud.patches`.
"""

from __future__ import annotations

import threading

import moto

from localcloud import alarms, aws_metrics, deliveries, execution_environments, limits, sqs_move_tasks, transport
from localcloud.access import enforcement
from localcloud.patches import (
    awslambda,
    cloudformation,
    cloudwatch,
    core,
    dynamodb,
    dynamodbstreams,
    events,
    sqs,
    stepfunctions,
)
from localcloud.patches.awslambda import set_runtime
from localcloud.patches.cloudformation import SKIPPED_RESOURCE_TYPES, supported_resource_types
from localcloud.patches.sqs import set_endpoint
from localcloud.patches.stepfunctions import clear_engine_clients, set_time_scale
from localcloud.patching import Kind, Patch

MOTO_VERSION = "5.2.5"

DECLARING_MODULES = (
    core,
    transport,
    enforcement,
    awslambda,
    cloudformation,
    cloudwatch,
    dynamodb,
    dynamodbstreams,
    events,
    sqs,
    stepfunctions,
    alarms,
    deliveries,
    limits,
    sqs_move_tasks,
    aws_metrics,
    execution_environments,
)

PATCHES: tuple[Patch, ...] = tuple(patch for module in DECLARING_MODULES for patch in module.PATCHES)
"""Every patch of the local cloud, in the order `apply_patches()` installs them."""

DECLARED_IN: dict[str, str] = {patch.id: module.__name__ for module in DECLARING_MODULES for patch in module.PATCHES}
BY_ID: dict[str, Patch] = {patch.id: patch for patch in PATCHES}

if len(BY_ID) != len(PATCHES) or len({(id(p.owner), p.name) for p in PATCHES}) != len(PATCHES):
    raise RuntimeError("an attribute is patched by two declarations: one attribute, one patch")

__all__ = [
    "BY_ID",
    "DECLARED_IN",
    "MOTO_VERSION",
    "PATCHES",
    "SKIPPED_RESOURCE_TYPES",
    "Kind",
    "Patch",
    "UnexpectedMotoVersion",
    "apply_patches",
    "clear_engine_clients",
    "remove_patches",
    "set_endpoint",
    "set_runtime",
    "set_time_scale",
    "supported_resource_types",
    "table",
]

_lock = threading.Lock()
_applied = False


class UnexpectedMotoVersion(RuntimeError):
    """The patches were written against another moto version; re-check each one."""


def apply_patches() -> None:
    """Install every patch once per process (idempotent); on a failure, none stays installed."""
    global _applied
    with _lock:
        if _applied:
            return
        if moto.__version__ != MOTO_VERSION:
            raise UnexpectedMotoVersion(f"patches target moto {MOTO_VERSION}, found {moto.__version__}")
        installed: list[Patch] = []
        try:
            for patch in PATCHES:
                patch.install()
                installed.append(patch)
        except BaseException:
            for patch in reversed(installed):
                patch.remove()
            raise
        _applied = True


def remove_patches() -> None:
    """Put back moto's own object for every patched attribute (apply_patches() installs them again)."""
    global _applied
    with _lock:
        for patch in reversed(PATCHES):
            patch.remove()
        _applied = False


def table() -> str:
    """The patches by service, with their kind and why: the list docs/local-cloud.md shows."""
    lines: list[str] = []
    for service in sorted({patch.service for patch in PATCHES}):
        lines += [f"**{service}**", "", "| patch | kind | declared in | why |", "| --- | --- | --- | --- |"]
        for patch in sorted((p for p in PATCHES if p.service == service), key=lambda p: p.id):
            where = "localcloud/" + DECLARED_IN[patch.id].removeprefix("localcloud.").replace(".", "/") + ".py"
            why = " ".join(patch.why.split()).replace("|", "\\|")
            lines.append(f"| `{patch.id}` | {patch.kind.describe()} | `{where}` | {why} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
