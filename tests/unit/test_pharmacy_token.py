"""The pharmacy API's token comes from a Secrets Manager secret (GetSecretValue's SecretString), cached."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lambdas.adapters import pharmacy_token
from lambdas.adapters.pharmacy_token import bearer_token
from lambdas.domain.errors import PharmacyContractError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def test_the_token_is_the_secrets_string_by_name_or_by_arn(secrets: SecretsManagerClient) -> None:
    arn = secrets.create_secret(Name="pharmacy/api", SecretString="token-1")["ARN"]
    assert bearer_token("pharmacy/api")() == "token-1"
    assert bearer_token(arn)() == "token-1"


def test_the_token_is_reused_within_its_max_age_and_a_new_environment_reads_the_rotated_one(
    secrets: SecretsManagerClient,
) -> None:
    secrets.create_secret(Name="pharmacy/api", SecretString="token-1")
    token = bearer_token("pharmacy/api")
    assert token() == "token-1"
    secrets.put_secret_value(SecretId="pharmacy/api", SecretString="token-2")  # rotated

    assert token() == "token-1", "within TOKEN_MAX_AGE_SECONDS the secret is not read again"
    pharmacy_token._secrets.cache_clear()  # a new execution environment
    assert token() == "token-2"


def test_a_secret_without_a_string_is_a_configuration_error_that_does_not_show_it(
    secrets: SecretsManagerClient,
) -> None:
    secrets.create_secret(Name="pharmacy/api", SecretString="   ")
    with pytest.raises(PharmacyContractError, match="holds no token"):
        bearer_token("pharmacy/api")()
