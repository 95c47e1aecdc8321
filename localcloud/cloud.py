"""The local cloud: a synthesized cloud assembly deployed into moto, Lambda handlers in-process.

with LocalCloud.start() as cloud:
    outputs = cloud.deploy(assembly)
    cloud.client("events").put_events(...)
    cloud.wait_until_idle()

It knows AWS, not the application it runs: what the application's functions keep between
invocations (cached clients, say) is theirs to warm and to forget (`Environment`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.logs.models import logs_backends
from moto.sqs.models import sqs_backends

from localcloud import alarms, aws_metrics, deliveries, emf, patches, sqs_move_tasks
from localcloud.access.actions import Arns, Check
from localcloud.access.enforcement import AUTHORIZER, Refusal
from localcloud.access.principals import Principal
from localcloud.deploy import CloudAssembly, check_resource_types, create_stack, publish_assets
from localcloud.mappings import Pollers
from localcloud.pollers import Undelivered
from localcloud.runtime import InProcessRuntime, InvocationRecord
from localcloud.service_clients import ServiceClients, ServiceName

if TYPE_CHECKING:
    from botocore.client import BaseClient

DEFAULT_REGION = "us-east-1"
DEFAULT_TIME_SCALE = 0.001
"""Retry backoff of 1 s waits 1 ms locally: tests never sleep through real backoff."""

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


IGNORE_CONFIGURED_ENDPOINTS = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"


_SERVICES: tuple[ServiceName, ...] = (
    "dynamodb",
    "dynamodbstreams",
    "stepfunctions",
    "events",
    "ssm",
    "sqs",
    "lambda",
    "logs",
    "s3",
    "cloudformation",
    "kms",
    "iam",
    "sns",
    "cloudwatch",
)


class StillBusy(TimeoutError):
    """The local cloud still had deliveries or executions running when the wait ran out."""


def _no_op() -> None:
    pass


@dataclass(frozen=True)
class Environment:
    """What the application's functions keep in this process between invocations, as a Lambda
    execution environment would: `warm` makes it before the first burst of concurrent calls
    (clients, say), `end` forgets it when the cloud stops, so the next deployment starts cold."""

    warm: Callable[[], None] = _no_op
    end: Callable[[], None] = _no_op


@dataclass
class LogLine:
    function: str
    request_id: str
    text: str
    at: float = field(default_factory=time.time)
    """When it was written (epoch seconds): retention forgets the oldest lines first."""


@dataclass
class LocalCloud(ServiceClients):
    region: str = DEFAULT_REGION
    time_scale: float = DEFAULT_TIME_SCALE
    echo_logs: bool = False
    endpoint_url: str | None = None
    """The endpoint clients reach when served over HTTP (`saga local up`): queue URLs name it."""
    account: str = DEFAULT_ACCOUNT_ID
    environment: Environment = field(default_factory=Environment)
    outputs: dict[str, str] = field(default_factory=dict)
    skipped_resources: list[tuple[str, str]] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    _mock: Any = None
    _pollers: Pollers | None = None
    _runtime: InProcessRuntime | None = None
    _clients: dict[str, BaseClient] = field(default_factory=dict)
    _log_lock: threading.Lock = field(default_factory=threading.Lock)
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(cls, **kwargs: Any) -> LocalCloud:
        cloud = cls(**kwargs)
        cloud._start()
        return cloud

    def _start(self) -> None:
        for key, value in {**_FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": self.region}.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        # An endpoint URL in the environment (the README exports one for clients of `saga local up`)
        # or in the AWS config file would send this process's calls over HTTP (moto's mock only takes
        # AWS's own addresses), where no caller is known, or to another local cloud: every client the
        # process makes while it runs stays in-process. botocore skips both sources when told to
        # (AWS SDKs and Tools reference guide, "Service-specific endpoints").
        for key in [k for k in os.environ if k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_")]:
            self._saved_env[key] = os.environ.pop(key)
        self._saved_env.setdefault(IGNORE_CONFIGURED_ENDPOINTS, os.environ.get(IGNORE_CONFIGURED_ENDPOINTS))
        os.environ[IGNORE_CONFIGURED_ENDPOINTS] = "true"
        patches.apply_patches()
        patches.set_endpoint(self.endpoint_url)
        AUTHORIZER.reset()
        alarms.reset()
        aws_metrics.reset()
        deliveries.reset()
        sqs_move_tasks.reset()
        patches.set_time_scale(self.time_scale)
        self._runtime = InProcessRuntime(self._service_environment(), self._write_logs)
        patches.set_runtime(self._runtime)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self._warm_botocore()

    def _service_environment(self) -> dict[str, str]:
        """What the Lambda service sets besides the function's own environment."""
        return {
            **_FAKE_CREDENTIALS,
            # No X-Ray daemon runs locally; traces are a deployed stack's concern.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_XRAY_SDK_ENABLED": "false",
        }

    def _warm_botocore(self) -> None:
        """Load each service model once, before concurrent callers race to load it.

        moto's `get_service_model` and botocore's loader cache without a lock: the first
        burst of concurrent calls per service each load the model from disk (seconds, under
        the GIL, per caller).
        """
        from moto.core.routing import get_service_router
        from moto.core.utils import get_service_model

        for service in _SERVICES:
            get_service_model(service)
            self.client(service)
        # A client loads its paginator model on first use, unlocked, too.
        self.client("dynamodb").can_paginate("query")
        self.environment.warm()
        # moto routes a REST call (every state machine's Lambda Invoke) with a werkzeug map it
        # builds on first use, unlocked: each concurrent first call built its own, compiling
        # every rule with ast.parse at once, and CPython 3.11 can fail two ASTs built at once
        # ("SystemError: AST constructor recursion depth mismatch", python/cpython#106905) - a
        # valid order's first task failed with error "Exception" in a burst. Build it once.
        get_service_router("lambda")._get_router("rest-json")

    def stop(self) -> None:
        if self._pollers is not None:
            self._pollers.stop()
            self._pollers = None
        # Let running executions finish their current state before the backends go away.
        self._wait_executions(timeout=5)
        self._abort_executions()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        # The functions' execution environments end with the cloud: the next deployment's start cold.
        self.environment.end()
        patches.clear_engine_clients()
        patches.set_endpoint(None)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> LocalCloud:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # --- deployment ------------------------------------------------------------------------

    def deploy(self, assembly: CloudAssembly) -> dict[str, str]:
        self.skipped_resources = check_resource_types(assembly.template)
        publish_assets(assembly, self.client("s3"), self.account, self.region)
        self.outputs = create_stack(assembly, self.client("cloudformation"))
        self._pollers = Pollers(self._invoke, lambda: self.time_scale)
        self._pollers.take_over(self.account, self.region)
        return self.outputs

    def _invoke(self, function: LambdaFunction, event: dict[str, Any]) -> tuple[str, bool]:
        response, errored, _ = function._invoke_lambda(event)  # type: ignore[arg-type]  # moto's annotation says str; it takes the event
        return response, errored

    def _client(self, service: str) -> BaseClient:
        if service not in self._clients:
            # call-overload: boto3's stubs type `client` per literal service name only; ServiceClients.client
            # gives each caller the client of the name it passes.
            self._clients[service] = boto3.client(service, region_name=self.region)  # type: ignore[call-overload]
        return self._clients[service]

    # --- logs ------------------------------------------------------------------------------

    def _write_logs(self, record: InvocationRecord, lines: list[str]) -> None:
        with self._log_lock:
            self.logs.extend(LogLine(record.function_name, record.request_id, line) for line in lines)
            if self.echo_logs:
                for line in lines:
                    print(f"[{record.function_name}] {line}", file=sys.__stderr__)
        if lines:
            self._deliver_logs(record, lines)

    def _deliver_logs(self, record: InvocationRecord, lines: list[str]) -> None:
        """Into the function's configured log group, as the Lambda service writes them: with the
        function's role. What the role may not write is dropped, as on AWS (the refusal is recorded)."""
        principal = Principal.function_role(record.role, record.function_name)
        arns = Arns(self.account, self.region)
        stream = arns.log_group(record.log_group, record.log_stream)
        if any(AUTHORIZER.check(principal, Check(a, stream)) for a in ("logs:CreateLogStream", "logs:PutLogEvents")):
            return
        backend = logs_backends[self.account][self.region]
        try:
            if record.log_group not in backend.groups:
                # Lambda creates a missing group, if the role may (the template's groups all exist).
                if AUTHORIZER.check(principal, Check("logs:CreateLogGroup", arns.log_group(record.log_group))):
                    return
                backend.create_log_group(record.log_group, {})
            backend.create_log_stream(record.log_group, record.log_stream)
            now = int(time.time() * 1000)
            backend.put_log_events(
                record.log_group, record.log_stream, [{"timestamp": now, "message": m} for m in lines]
            )
            emf.publish(cloudwatch_backends[self.account][self.region], lines)
        except Exception as error:  # a log write must not fail the invocation, but must be seen
            print(f"[localcloud] could not write logs of {record.function_name}: {error!r}", file=sys.__stderr__)

    def forget_log_lines(self, until: float) -> int:
        """Forget the lines written up to `until` (epoch seconds); how many were forgotten."""
        with self._log_lock:
            count = next((n for n, line in enumerate(self.logs) if line.at > until), len(self.logs))
            del self.logs[:count]
        return count

    # --- what happened ---------------------------------------------------------------------

    @property
    def runtime(self) -> InProcessRuntime:
        assert self._runtime is not None
        return self._runtime

    def refusals(self) -> list[Refusal]:
        """Every call the local cloud refused, as AWS would have, since it started."""
        return list(AUTHORIZER.refused)

    def undelivered(self) -> list[Undelivered]:
        """Event source mapping deliveries given up (or refused) since the deployment."""
        return self._pollers.undelivered() if self._pollers else []

    def undelivered_events(self) -> list[deliveries.Undelivered]:
        """Rule targets and subscriptions AWS would not have delivered to (their queue's policy refused)."""
        return deliveries.undelivered()

    def alarm_actions(self) -> list[alarms.ActionRun]:
        """Every alarm action run since the start: what CloudWatch published, or why it could not."""
        return alarms.action_runs()

    def first_unread_stream_records(self) -> dict[int, int]:
        """Per DynamoDB stream shard (by id), the first sequence number a mapping has yet to read."""
        return self._pollers.first_unread_stream_records() if self._pollers else {}

    def sqs_poll_requests(self) -> int:
        return self._pollers.sqs_requests() if self._pollers else 0

    def idle(self) -> bool:
        return (self._pollers is None or self._pollers.idle()) and not self.running_executions()

    def running_executions(self) -> int:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[self.account][self.region]
        return sum(1 for e in backend._get_executions() if e.status == "RUNNING")

    def _abort_executions(self) -> None:
        """Executions still running (a task waiting for its token, a long Wait) end with the cloud, as
        StopExecution ends them. Left running, their timers fired later in this process, into the next
        cloud: a Catch invoking functions it no longer had, refused there (found by a CI run)."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[self.account][self.region]
        running = [e for e in backend._get_executions() if e.status == "RUNNING"]
        for execution in running:
            execution.stop(stop_date=datetime.now(UTC), error="LocalCloudStopped", cause="the local cloud stopped")
        deadline = time.monotonic() + 2
        while any(e.status == "RUNNING" for e in running) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _wait_executions(self, timeout: float) -> None:
        try:
            self.wait_until_idle(timeout, quiet_seconds=0.0)
        except StillBusy:
            return  # stopping anyway: the backends go, and the executions with them

    def wait_until_idle(self, timeout: float = 30.0, quiet_seconds: float = 0.05) -> None:
        """Until no delivery or execution has run for `quiet_seconds`; StillBusy after `timeout`."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_seconds:
                    return
            else:
                quiet_since = None
            time.sleep(0.005)
        raise StillBusy(f"the local cloud was still busy after {timeout} s")

    # --- queues -------------------------------------------------------------------------

    def drain(self, queue_url: str) -> list[str]:
        """Take every message out of a queue; their bodies, oldest first.

        Read from the local backend in one pass: receiving and deleting through the API costs
        a walk of the whole queue per call in moto, quadratic for the thousands of published
        events a chaos run leaves in the domain events tap.
        """
        queue = sqs_backends[self.account][self.region].get_queue(queue_url.rsplit("/", 1)[1])
        with queue._messages_lock:
            messages, queue._messages = list(queue._messages), []
        return [message.body for message in messages]
