"""The settings a function reads from its environment, parsed once per execution environment.

The variables' names are in lambdas/contract.py; each function is deployed with the ones it
needs (infra/functions.py), so every field is optional here and the adapter that needs one
asks for it by name (`setting`): a missing one fails that function's invocation with its name.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lambdas import contract
from lambdas.domain.errors import SagaError


class MissingSetting(SagaError):
    """The function was deployed without an environment variable it needs."""


class Settings(BaseModel):
    """Every variable a function of the stack may be deployed with, by its name in the environment."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    event_store_table: str | None = Field(None, alias=contract.EVENT_STORE_TABLE)
    saga_table: str | None = Field(None, alias=contract.SAGA_TABLE)
    catalogue_table: str | None = Field(None, alias=contract.CATALOGUE_TABLE)
    inventory_table: str | None = Field(None, alias=contract.INVENTORY_TABLE)
    reservations_table: str | None = Field(None, alias=contract.RESERVATIONS_TABLE)
    prescriptions_table: str | None = Field(None, alias=contract.PRESCRIPTIONS_TABLE)
    shipments_table: str | None = Field(None, alias=contract.SHIPMENTS_TABLE)
    verification_tokens_table: str | None = Field(None, alias=contract.VERIFICATION_TOKENS_TABLE)
    state_machine_arn: str | None = Field(None, alias=contract.STATE_MACHINE_ARN)
    resume_state_machine_arn: str | None = Field(None, alias=contract.RESUME_STATE_MACHINE_ARN)
    event_bus_name: str | None = Field(None, alias=contract.EVENT_BUS_NAME)
    fault_injection_parameter: str | None = Field(None, alias=contract.FAULT_INJECTION_PARAMETER)
    prescription_verification: str | None = Field(None, alias=contract.PRESCRIPTION_VERIFICATION)
    pharmacy_api_url: str | None = Field(None, alias=contract.PHARMACY_API_URL)
    pharmacy_api_secret: str | None = Field(None, alias=contract.PHARMACY_API_SECRET)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # An empty variable names nothing (no table, no URL): the function reads it as unset.
        return value or None

    def value_of(self, variable: str) -> str | None:
        """The value of the environment variable named `variable` (a name from lambdas/contract.py)."""
        for field, info in type(self).model_fields.items():
            if info.alias == variable:
                value: str | None = getattr(self, field)
                return value
        raise LookupError(f"{variable} is not a setting of the stack's functions")


@cache
def settings() -> Settings:
    """This execution environment's settings: its variables are fixed for its lifetime, so read once."""
    return parse(event=dict(os.environ), model=Settings)


def setting(name: str) -> str:
    value = settings().value_of(name)
    if value is None:
        raise MissingSetting(f"environment variable {name} is not set")
    return value


def optional_setting(name: str) -> str | None:
    return settings().value_of(name)


class PharmacyApiSettings(NamedTuple):
    url: str
    secret_id: str
    """The secret's name or ARN: the token itself is read from Secrets Manager, never from here."""


def pharmacy_api() -> PharmacyApiSettings | None:
    """The pharmacy API this function's step calls, or None when its step uses the built-in tables.
    The stack sets both variables or neither (infra/functions.py); one without the other is a fault."""
    url, secret_id = settings().pharmacy_api_url, settings().pharmacy_api_secret
    if url is None and secret_id is None:
        return None
    if url is None or secret_id is None:
        raise MissingSetting(
            f"environment variables {contract.PHARMACY_API_URL} and {contract.PHARMACY_API_SECRET} go together"
        )
    return PharmacyApiSettings(url, secret_id)
