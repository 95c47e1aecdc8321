"""The settings a function reads from its environment (the variables' names: lambdas/contract.py).

Settings are read per invocation rather than once per process: it costs microseconds and
lets the local cloud run several functions, each with its own environment, in one process.
"""

from __future__ import annotations

import os

from lambdas.domain.errors import SagaError


class MissingSetting(SagaError):
    """The function was deployed without an environment variable it needs."""


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(f"environment variable {name} is not set")
    return value


def optional_setting(name: str) -> str | None:
    return os.environ.get(name) or None
