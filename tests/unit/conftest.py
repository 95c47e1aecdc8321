"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from lambdas.adapters import aws_services, pharmacy_token

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsManagerClient]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_services.client.cache_clear()
    pharmacy_token._secrets.cache_clear()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    aws_services.client.cache_clear()
    pharmacy_token._secrets.cache_clear()
