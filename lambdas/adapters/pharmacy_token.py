"""The pharmacy API's bearer token, read from the Secrets Manager secret the pharmacy's team owns.

Used by the HTTP adapters (lambdas/adapters/pharmacy_http.py) of the steps configured to call the
pharmacy (infra/pharmacy.py), whose roles may `secretsmanager:GetSecretValue` that one secret.
The token lives in this process's memory only: never in an environment variable, a log line,
an execution history or an error message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from lambdas.adapters.aws_services import client
from lambdas.domain.errors import PharmacyContractError

TOKEN_MAX_AGE_SECONDS = 300
"""How long a token read is reused: a rotated secret reaches every function within this."""


@cache
def _secrets() -> Any:
    """One provider per process, on the process's one Secrets Manager client (as the fault plan's SSM)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def bearer_token(secret_id: str, max_age_seconds: int = TOKEN_MAX_AGE_SECONDS) -> Callable[[], str]:
    """A token source for PharmacyClient: the secret's SecretString (its name or ARN), cached `max_age_seconds`."""

    def token() -> str:
        value = _secrets().get(secret_id, max_age=max_age_seconds)
        if not isinstance(value, str) or not value.strip():
            raise PharmacyContractError("the pharmacy API secret holds no token (a SecretString is expected)")
        return value.strip()

    return token
