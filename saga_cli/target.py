"""Where the CLI points: a local endpoint or a deployed stack, and the stack's outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import ClientError

# typer (pinned) vendors click; its commands only turn *its* ClickException into "Error: ..." + exit 1.
from typer._click.exceptions import ClickException

from infra import names

_LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class CliError(ClickException):
    """A failure reported as one line (`Error: ...`) with exit code 1."""


class NotFound(CliError):
    pass


class Refused(CliError):
    """What the system would refuse, refused before anything is sent: bad usage, exit code 2."""

    exit_code = 2


@dataclass
class Target:
    stack: str = names.DEFAULT_STACK_NAME
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def session(self) -> boto3.Session:
        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if self.endpoint_url:
            # A local endpoint takes any credentials; do not require an AWS profile for it.
            has_credentials = os.environ.get("AWS_ACCESS_KEY_ID") or self.profile
            extra = {} if has_credentials else _LOCAL_CREDENTIALS
            return boto3.Session(profile_name=self.profile, region_name=region or "us-east-1", **extra)
        return boto3.Session(profile_name=self.profile, region_name=region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        return self._clients[service]

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        except ClientError as error:
            where = self.endpoint_url or f"AWS ({self.session.region_name})"
            raise NotFound(f"stack {self.stack} not found at {where}: {error.response['Error']['Message']}") from None
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise NotFound(f"stack {self.stack} has no output {name}") from None
