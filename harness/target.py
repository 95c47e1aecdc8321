"""What the harness drives: a deployed stack, a local endpoint, or the in-process local cloud.

Every target is found the same way a team finds its own stack: by its CloudFormation
outputs. What differs is where the clients point (AWS, an endpoint URL, moto in this
process) and what the target lets a test see besides the API (only the in-process cloud
shows its functions' errors, its refusals and its logs: `harness.inprocess`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from harness import faults, sending, waiting
from harness.errors import HarnessError, NotFound, NotReady, Refused
from infra import names
from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.adapters.dynamodb_projection import DynamoDBProjection
from lambdas.domain.projection import SagaView
from lambdas.logic.faults import PLAN_MAX_AGE_SECONDS
from localcloud.service_clients import ServiceClients

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["HarnessError", "NotFound", "NotReady", "Refused", "StackTarget", "Target"]

_LOCAL_KEY = "testing"


class Target(ServiceClients):
    """A stack the harness reaches through the AWS API: its clients (`client`) and its outputs."""

    stack: str = names.DEFAULT_STACK_NAME

    @property
    def outputs(self) -> dict[str, str]:
        raise NotImplementedError

    @property
    def where(self) -> str:
        """Where the stack runs, for messages: an endpoint URL, `AWS (region)`, `in-process`."""
        raise NotImplementedError

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise NotFound(f"stack {self.stack} has no output {name}") from None

    @property
    def has_fault_injection(self) -> bool:
        """Whether the stack was synthesized with the fault injection switch (`-c fault_injection=true`)."""
        return bool(self.outputs.get(names.OUTPUT_FAULT_INJECTION_PARAMETER))

    # --- what a pharmacy does --------------------------------------------------------------

    def put_order(self, detail: dict[str, Any] | str) -> None:
        sending.put_order(self, detail)

    def put_order_at_once(self, detail: dict[str, Any] | str, deliveries: int) -> None:
        sending.put_order_at_once(self, detail, deliveries)

    # --- what the stack holds ----------------------------------------------------------------

    def projection(self) -> DynamoDBProjection:
        return DynamoDBProjection(self.client("dynamodb"), self.output(names.OUTPUT_SAGA_TABLE))

    def event_store(self) -> DynamoDBEventStore:
        return DynamoDBEventStore(self.client("dynamodb"), self.output(names.OUTPUT_EVENT_STORE_TABLE))

    def settle(
        self,
        order_ids: Iterable[str],
        timeout: float = 30.0,
        on_settled: Callable[[list[SagaView]], None] = lambda views: None,
    ) -> tuple[dict[str, SagaView], list[str]]:
        """Wait until every saga is terminal or parked: (settled views, ids still unsettled at `timeout`)."""
        return waiting.settle(self, order_ids, timeout, on_settled)

    def wait_for_sagas(self, order_ids: Iterable[str], timeout: float = 30.0) -> dict[str, str]:
        """Like `settle`, but an unsettled saga is an error: each saga's state."""
        return waiting.wait_for_sagas(self, order_ids, timeout)

    def drain(self, queue_url: str) -> list[str]:
        """Take every message out of a queue: their bodies."""
        sqs, bodies = self.client("sqs"), []
        while received := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages"
        ):
            for message in received:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    # --- bad days ------------------------------------------------------------------------------

    def set_faults(self, plan: dict[str, Any], *, wait: bool = True) -> float:
        """Put a fault plan in force: the seconds until every function holds it (waited for, unless
        `wait` is False). 0 when the plan was already there or the functions read it at once."""
        if not faults.put_plan(self, plan):
            return 0.0
        seconds = self._plan_changed()
        if wait and seconds:
            time.sleep(seconds)
        return seconds

    def _plan_changed(self) -> float:
        """A new plan was put: how long until every function holds it (their cache's max age)."""
        return float(PLAN_MAX_AGE_SECONDS)


@dataclass
class StackTarget(Target):
    """A stack found by name through CloudFormation: on AWS, or behind a local endpoint (`saga local up`)."""

    stack: str = names.DEFAULT_STACK_NAME
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    _clients: dict[str, BaseClient] = field(default_factory=dict, repr=False)

    @cached_property
    def session(self) -> boto3.Session:
        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if self.endpoint_url:
            # A local endpoint takes any credentials; do not require an AWS profile for it.
            if os.environ.get("AWS_ACCESS_KEY_ID") or self.profile:
                return boto3.Session(profile_name=self.profile, region_name=region or "us-east-1")
            return boto3.Session(
                region_name=region or "us-east-1", aws_access_key_id=_LOCAL_KEY, aws_secret_access_key=_LOCAL_KEY
            )
        return boto3.Session(profile_name=self.profile, region_name=region)

    def _client(self, service: str) -> BaseClient:
        if service not in self._clients:
            # call-overload: boto3's stubs type `client` per literal service name only; ServiceClients.client
            # gives each caller the client of the name it passes.
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        return self._clients[service]

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS ({self.session.region_name})"

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if self.endpoint_url and status == HTTPStatus.SERVICE_UNAVAILABLE:  # saga_cli/local.py, Gate
                raise NotReady(
                    f"{self.where} is not serving stack {self.stack} (503 Service Unavailable): a "
                    "`saga local up` answers so while it deploys (until it prints `local cloud ready`) "
                    "and once it is stopping"
                ) from None
            raise NotFound(
                f"stack {self.stack} not found at {self.where}: {error.response['Error']['Message']}"
            ) from None
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
