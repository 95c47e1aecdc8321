"""The in-process target: the saga's stack deployed into the local cloud in this process.

Besides what every target answers through the API, it shows what only this process can see:
the functions' errors, the calls the local cloud refused as AWS would, what was not delivered,
and the functions' log lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from harness import seed as demo_data
from harness.target import Target
from infra import names
from lambdas.domain import errors
from lambdas.domain.intake import UnusableMessage
from lambdas.domain.projection import SagaView
from localcloud.cloud import Environment, LocalCloud
from localcloud.deploy import CloudAssembly

if TYPE_CHECKING:
    from botocore.client import BaseClient

EXPECTED_FUNCTION_ERRORS = frozenset(
    {
        # Business refusals are how a step says "no": the state machine catches them.
        errors.PRESCRIPTION_FAILED,
        errors.INVENTORY_RESERVATION_FAILED,
        errors.SHIPMENT_INITIATION_FAILED,
        # What the state machine retries (and the functions raise: not the Lambda service's own).
        *(name for name in errors.TRANSIENT_ERRORS if name not in errors.LAMBDA_SERVICE_ERRORS),
        # Raised on purpose by fault injection.
        errors.InjectedPermanentFault.__name__,
    }
)
"""Errors a healthy saga's functions raise by design; anything else is a defect."""

POISON_MESSAGE_ERRORS = frozenset({UnusableMessage.__name__, BatchProcessingError.__name__})
"""What start_saga raises for a message that must go to the dead-letter queue."""


def _warm_product_clients() -> None:
    """The functions' cached clients, made before the first burst of concurrent invocations (boto3
    loads a service's model unlocked: each concurrent first caller would load it again)."""
    from lambdas.adapters.aws_services import client

    client.cache_clear()
    for service in ("dynamodb", "stepfunctions", "events", "ssm"):
        client(service)
    client("dynamodb").can_paginate("query")


def _forget_fault_plan() -> None:
    from lambdas.handlers.wiring import _fault_parameters

    _fault_parameters.cache_clear()


def _forget_product_state() -> None:
    """What a function keeps between invocations ends with its execution environment."""
    from lambdas.adapters.aws_services import client

    client.cache_clear()
    _forget_fault_plan()
    # The pharmacy API's client and its cached token are an execution environment's too: a new
    # cloud's functions read the secret again, as a new Lambda environment would.
    from lambdas.adapters.pharmacy_token import _secrets
    from lambdas.handlers.wiring import _pharmacy_client

    _secrets.cache_clear()
    _pharmacy_client.cache_clear()


PRODUCT_ENVIRONMENT = Environment(warm=_warm_product_clients, end=_forget_product_state)


@dataclass
class InProcess(Target):
    local: LocalCloud
    stack: str = names.DEFAULT_STACK_NAME

    def _client(self, service: str) -> BaseClient:
        return self.local._client(service)

    @property
    def outputs(self) -> dict[str, str]:
        return self.local.outputs

    @property
    def where(self) -> str:
        return "the in-process local cloud"

    def settle(
        self,
        order_ids: Iterable[str],
        timeout: float = 30.0,
        on_settled: Callable[[list[SagaView]], None] = lambda views: None,
    ) -> tuple[dict[str, SagaView], list[str]]:
        """As every target, then until the local cloud is idle: nothing still being delivered."""
        views, pending = super().settle(order_ids, timeout, on_settled)
        if not pending:
            self.local.wait_until_idle(timeout=max(1.0, timeout))
        return views, pending

    def drain(self, queue_url: str) -> list[str]:
        return self.local.drain(queue_url)

    def _plan_changed(self) -> float:
        # Deployed functions see a new plan within its max age; here they read it at once.
        _forget_fault_plan()
        return 0.0

    def function_logs(self, function_suffix: str) -> list[str]:
        """The log lines of the function whose construct is named `function_suffix`."""
        return [line.text for line in self.local.logs if names.construct_id(function_suffix) in line.function]

    def unexpected_errors(self, allowed: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
        """The function errors raised so far that a healthy saga does not raise (nor `allowed`)."""
        expected = EXPECTED_FUNCTION_ERRORS | allowed
        return [error for error in self.local.runtime.errors if error[1] not in expected]


@contextmanager
def deployed(assembly: CloudAssembly, *, seeded: bool = True, **cloud: Any) -> Iterator[InProcess]:
    """A fresh local cloud with the stack deployed (and the demo catalogue and stock, if `seeded`)."""
    local = LocalCloud.start(environment=PRODUCT_ENVIRONMENT, **cloud)
    try:
        local.deploy(assembly)
        target = InProcess(local, assembly.stack_name)
        if seeded:
            demo_data.seed(target)
        yield target
    finally:
        local.stop()
