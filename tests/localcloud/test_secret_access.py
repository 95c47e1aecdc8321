"""Secrets Manager calls are authorised on the secret's complete ARN, whatever SecretId names it by."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from localcloud.access.actions import Arns, Check, checks

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

ARNS = Arns(account="123456789012", region="us-east-1")


@pytest.fixture
def secrets() -> Iterator[SecretsManagerClient]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=ARNS.region)


def test_a_secret_named_by_name_or_partial_arn_is_checked_on_its_complete_arn(secrets: SecretsManagerClient) -> None:
    arn = secrets.create_secret(Name="pharmacy/api-token", SecretString="t")["ARN"]
    # AWS appends a hyphen and six random characters to a secret's ARN (what a NAME-?????? grant matches).
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:pharmacy/api-token-")
    assert len(arn) == len("arn:aws:secretsmanager:us-east-1:123456789012:secret:pharmacy/api-token-") + 6
    for secret_id in ("pharmacy/api-token", arn, arn[:-7]):
        assert checks("secretsmanager", "GetSecretValue", {"SecretId": secret_id}, ARNS) == [
            Check("secretsmanager:GetSecretValue", arn)
        ]


def test_a_secret_that_does_not_exist_is_checked_on_an_arn_no_suffixed_grant_matches(
    secrets: SecretsManagerClient,
) -> None:
    assert checks("secretsmanager", "GetSecretValue", {"SecretId": "absent"}, ARNS) == [
        Check("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent")
    ]
