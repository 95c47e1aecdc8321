"""Which test pins which patch of moto (localcloud/patches).

A pinning test fails loudly if a moto upgrade changes what the patch replaces: it shows moto's own
behaviour still has the gap (or the cost), and that the patch closes it. `@pins(id, ...)` names the
patches a test pins; an unknown id fails at import, and tests/localcloud/test_patches.py checks
that every declared patch is pinned by some test of tests/localcloud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from localcloud.patches import BY_ID, apply_patches

Test = TypeVar("Test", bound=Callable[..., Any])

PINNED: dict[str, list[str]] = {}
"""Patch id: the tests (module.name) that pin it."""


def pins(*ids: str) -> Callable[[Test], Test]:
    unknown = [patch_id for patch_id in ids if patch_id not in BY_ID]
    if unknown or not ids:
        raise LookupError(f"no such patch: {unknown} (the ids are in `python -m localcloud.patches`)")

    def pin(test: Test) -> Test:
        for patch_id in ids:
            PINNED.setdefault(patch_id, []).append(f"{test.__module__}.{test.__qualname__}")
        return test

    return pin


@contextmanager
def moto_own(*ids: str) -> Iterator[None]:
    """moto's own behaviour for these patches while inside; every other patch stays installed."""
    apply_patches()
    chosen = [BY_ID[patch_id] for patch_id in ids]
    for patch in chosen:
        patch.remove()
    try:
        yield
    finally:
        for patch in reversed(chosen):
            patch.install()
