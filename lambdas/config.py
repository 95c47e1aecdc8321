"""The settings a function reads from its environment (the variables' names: lambdas/contract.py).

Settings are read per invocation rather than once per process: it costs microseconds and
lets the local cloud run several functions, each with its own environment, in one process.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from lambdas import contract
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


class PharmacyApiSettings(NamedTuple):
    url: str
    secret_id: str
    """The secret's name or ARN: the token itself is read from Secrets Manager, never from here."""


def pharmacy_api() -> PharmacyApiSettings | None:
    """The pharmacy API this function's step calls, or None when its step uses the built-in tables.
    The stack sets both variables or neither (infra/functions.py); one without the other is a fault."""
    url, secret_id = optional_setting(contract.PHARMACY_API_URL), optional_setting(contract.PHARMACY_API_SECRET)
    if url is None and secret_id is None:
        return None
    if url is None or secret_id is None:
        raise MissingSetting(
            f"environment variables {contract.PHARMACY_API_URL} and {contract.PHARMACY_API_SECRET} go together"
        )
    return PharmacyApiSettings(url, secret_id)
