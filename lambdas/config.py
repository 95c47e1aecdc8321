"""Environment variable names (shared with infra/) and the settings a function reads from them.

Settings are read per invocation rather than once per process: it costs microseconds and
lets the local cloud run several functions, each with its own environment, in one process.
"""

from __future__ import annotations

import os

from lambdas.domain.errors import SagaError

EVENT_STORE_TABLE = "EVENT_STORE_TABLE"
SAGA_TABLE = "SAGA_TABLE"
CATALOGUE_TABLE = "CATALOGUE_TABLE"
INVENTORY_TABLE = "INVENTORY_TABLE"
RESERVATIONS_TABLE = "RESERVATIONS_TABLE"
PRESCRIPTIONS_TABLE = "PRESCRIPTIONS_TABLE"
SHIPMENTS_TABLE = "SHIPMENTS_TABLE"
STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
RESUME_STATE_MACHINE_ARN = "RESUME_STATE_MACHINE_ARN"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
FAULT_INJECTION_PARAMETER = "FAULT_INJECTION_PARAMETER"
"""Set only on stacks synthesized with fault injection enabled; absent means no faults, ever."""

METRICS_NAMESPACE = "OrderFulfillment"


class MissingSetting(SagaError):
    """The function was deployed without an environment variable it needs."""


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(f"environment variable {name} is not set")
    return value


def optional_setting(name: str) -> str | None:
    return os.environ.get(name) or None
