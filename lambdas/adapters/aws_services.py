"""Boto3 clients (created lazily, once per process) and the small Step Functions/EventBridge adapters."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from lambdas.domain.errors import TransientError


@cache
def client(service: str) -> Any:
    """The process's one client for `service`.

    boto3 is imported here, on first use, rather than at module import: importing a handler
    stays within its cold-start budget (see `make bench`), and a function that never calls a
    service never pays for it.
    """
    import boto3
    from botocore.config import Config

    # Retries of throttling are botocore's job ("standard" mode); ours are the state machine's.
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
    return boto3.client(service, config=config)  # type: ignore[call-overload]


class StepFunctionsStarter:
    def __init__(self, sfn_client: Any, state_machine_arn: str) -> None:
        self._client = sfn_client
        self._arn = state_machine_arn

    def start(self, order_id: str) -> bool:
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=order_id, input=json.dumps({"order_id": order_id})
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise
        return True


class EventBridgePublisher:
    def __init__(self, events_client: Any) -> None:
        self._client = events_client

    def put(self, entry: dict[str, Any]) -> None:
        response = self._client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failure = response["Entries"][0]
            raise TransientError(f"PutEvents refused the entry: {failure.get('ErrorCode')}")
