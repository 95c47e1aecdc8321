"""The pharmacy API's bearer token, read from the Secrets Manager secret the pharmacy's team owns.

Used by the HTTP adapters (lambdas/adapters/pharmacy_http.py) of the steps configured to call the
pharmacy (infra/pharmacy.py), whose roles may `secretsmanager:GetSecretValue` that one secret.
The token lives in this process's memory only: never in an environment variable, a log line,
an execution history or an error message (nor does any part of it: a malformed token is refused
by what is wrong with it, never by its value).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from lambdas.adapters.aws_services import client
from lambdas.domain.errors import PharmacyContractError, PharmacyUnavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

TOKEN_MAX_AGE_SECONDS = 300
"""How long a token read is reused: a rotated secret reaches every function within this, or at once
when the pharmacy answers 401 (the caller asks for a fresh read: `BearerToken.fresh`)."""

B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 §2.1's b64token: what may follow `Bearer ` in an Authorization header."""

SECRET_NOT_READABLE = frozenset(
    {
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidParameterException",
        "InvalidRequestException",
        "ResourceNotFoundException",
    }
)
"""GetSecretValue's errors that no retry mends (Secrets Manager API reference, GetSecretValue, Errors;
AccessDeniedException from the common errors): the configuration is wrong. Others (InternalServiceError,
throttling, no connection) are transient."""


@cache
def _secrets() -> SecretsProvider:
    """One provider per process, on the process's one Secrets Manager client (as the fault plan's SSM)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


class BearerToken:
    """A token source for PharmacyClient: the secret's SecretString (by name or ARN), cached `max_age_seconds`."""

    def __init__(self, secret_id: str, max_age_seconds: int = TOKEN_MAX_AGE_SECONDS) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds

    def __call__(self) -> str:
        return self._read(force=False)

    def fresh(self) -> str:
        """Read the secret again now (after a 401: it may have been rotated within the cache's age)."""
        return self._read(force=True)

    def _read(self, *, force: bool) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = _secrets().get(self._secret_id, max_age=self._max_age, force_fetch=force)
        except GetParameterError as error:
            raise _unreadable(error) from None
        token = value.strip() if isinstance(value, str) else ""
        if not token:
            raise PharmacyContractError("the pharmacy API secret holds no token (a SecretString is expected)")
        if not B64TOKEN.fullmatch(token):
            # Never say which characters: they are the token's.
            raise PharmacyContractError(
                "the pharmacy API secret's string is not a bearer token (RFC 6750: letters, digits and -._~+/, "
                "then any '='; one line, the token alone, not a JSON document)"
            )
        return token


def bearer_token(secret_id: str, max_age_seconds: int = TOKEN_MAX_AGE_SECONDS) -> BearerToken:
    return BearerToken(secret_id, max_age_seconds)


def _unreadable(error: Exception) -> Exception:
    """What reading the secret failed as, told by the AWS error code alone (Powertools wraps the botocore
    error, which stays the context)."""
    cause = error.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause is not None else None
    if code in SECRET_NOT_READABLE:
        return PharmacyContractError(f"the pharmacy API secret cannot be read: {code}")
    return PharmacyUnavailable(f"the pharmacy API secret could not be read now: {code or type(cause).__name__}")
