"""A state machine on moto whose executions wait an hour: what the Step Functions contracts start and stop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from moto import mock_aws

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

WAITING = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}})
"""Its executions run until stopped: an hour is longer than any contract test."""


@contextmanager
def waiting_machine() -> Iterator[tuple[SFNClient, str]]:
    """Step Functions on moto with one such machine: its client and the machine's ARN."""
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(name="saga", definition=WAITING, roleArn="arn:aws:iam::123456789012:role/saga")[
            "stateMachineArn"
        ]
        yield sfn, str(arn)
