"""Builds the adapters a function needs from its environment, lazily: only what is touched."""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from lambdas import config, contract
from lambdas.adapters.aws_services import EventBridgePublisher, client
from lambdas.adapters.business_tables import (
    DynamoDBCatalogue,
    DynamoDBInventory,
    DynamoDBPrescriptions,
    DynamoDBShipments,
)
from lambdas.adapters.dynamodb_event_store import DynamoDBEventStore
from lambdas.adapters.dynamodb_projection import DynamoDBProjection
from lambdas.adapters.pharmacy_calls import BUILT_IN, Call
from lambdas.adapters.pharmacy_http import PharmacyInventory, PharmacyPrescriptions, PharmacyShipments
from lambdas.adapters.pharmacy_http_client import PharmacyClient
from lambdas.adapters.pharmacy_token import bearer_token
from lambdas.adapters.step_functions import CompensationExecutions, SagaExecutions, StepFunctions, WaitingTasks
from lambdas.adapters.task_tokens import DynamoDBTaskTokens
from lambdas.logic import faults as fault_injection
from lambdas.logic.faults import NO_FAULTS, FaultInjector
from lambdas.logic.repository import SagaRepository
from lambdas.observability import emit_now

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider


@cache
def _fault_parameters() -> SSMProvider:
    """The execution environment's one SSM provider (so one cache of the plan), on its one SSM client."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=client("ssm"))


def _fault_plan(parameter_name: str) -> Any:
    return _fault_parameters().get(parameter_name, transform="json", max_age=fault_injection.PLAN_MAX_AGE_SECONDS)


@cache
def _pharmacy_client(url: str, secret_id: str) -> PharmacyClient:
    """One client per process and API (so one connection pool), its token cached by pharmacy_token."""
    token = bearer_token(secret_id)
    return PharmacyClient(url, token, fresh_token=token.fresh)


def _pharmacy() -> PharmacyClient | None:
    """The pharmacy's API when this function's step is configured to call it (its environment says so)."""
    settings = config.pharmacy_api()
    return None if settings is None else _pharmacy_client(settings.url, settings.secret_id)


class LambdaServices:
    """The saga's ports, bound to the tables named in this function's environment, for one invocation."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.calls: list[Call] = []
        """This invocation's calls to the pharmacy's API, in order."""

    def _observe(self, call: Call) -> None:
        self.calls.append(call)
        if call.is_error:
            emit_now(
                contract.PHARMACY_API_ERRORS,
                {contract.OPERATION_DIMENSION: call.operation, contract.STATUS_CLASS_DIMENSION: call.status_class},
            )

    def _pharmacy(self) -> PharmacyClient | None:
        pharmacy = _pharmacy()
        return None if pharmacy is None else pharmacy.observed_by(self._observe)

    def systems_used(self) -> dict[str, Any]:
        """For a step's or a compensation's result (so its execution history): the system its function
        is configured to act on and the calls this invocation made there (none for a repeat)."""
        pharmacy = _pharmacy()
        return {"system": BUILT_IN if pharmacy is None else pharmacy.system, "calls": [str(c) for c in self.calls]}

    @cached_property
    def event_store(self) -> DynamoDBEventStore:
        return DynamoDBEventStore(client("dynamodb"), config.setting(contract.EVENT_STORE_TABLE))

    @cached_property
    def repository(self) -> SagaRepository:
        return SagaRepository(self.event_store, source=self.source)

    @cached_property
    def catalogue(self) -> DynamoDBCatalogue:
        return DynamoDBCatalogue(client("dynamodb"), config.setting(contract.CATALOGUE_TABLE))

    @cached_property
    def prescriptions(self) -> DynamoDBPrescriptions | PharmacyPrescriptions:
        if (pharmacy := self._pharmacy()) is not None:
            return PharmacyPrescriptions(pharmacy)
        return DynamoDBPrescriptions(client("dynamodb"), config.setting(contract.PRESCRIPTIONS_TABLE))

    @cached_property
    def inventory(self) -> DynamoDBInventory | PharmacyInventory:
        if (pharmacy := self._pharmacy()) is not None:
            return PharmacyInventory(pharmacy, self.event_store)
        return DynamoDBInventory(
            client("dynamodb"),
            config.setting(contract.INVENTORY_TABLE),
            config.setting(contract.RESERVATIONS_TABLE),
            config.optional_setting(contract.EVENT_STORE_TABLE),
        )

    @cached_property
    def shipments(self) -> DynamoDBShipments | PharmacyShipments:
        if (pharmacy := self._pharmacy()) is not None:
            return PharmacyShipments(pharmacy)
        return DynamoDBShipments(client("dynamodb"), config.setting(contract.SHIPMENTS_TABLE))

    @cached_property
    def faults(self) -> FaultInjector:
        parameter = config.optional_setting(contract.FAULT_INJECTION_PARAMETER)
        if parameter is None:
            return NO_FAULTS
        return FaultInjector(load_plan=lambda: _fault_plan(parameter))

    @cached_property
    def projection(self) -> DynamoDBProjection:
        return DynamoDBProjection(client("dynamodb"), config.setting(contract.SAGA_TABLE))

    @cached_property
    def step_functions(self) -> StepFunctions:
        return StepFunctions(client("stepfunctions"))

    @cached_property
    def starter(self) -> SagaExecutions:
        return SagaExecutions(self.step_functions, config.setting(contract.STATE_MACHINE_ARN))

    @cached_property
    def compensations(self) -> CompensationExecutions:
        return CompensationExecutions(self.step_functions, config.setting(contract.RESUME_STATE_MACHINE_ARN))

    @cached_property
    def waiting_tasks(self) -> WaitingTasks:
        return WaitingTasks(client("stepfunctions"))

    @cached_property
    def task_tokens(self) -> DynamoDBTaskTokens | None:
        """None on a stack that does not wait for pharmacists (no table, so no token anywhere)."""
        table = config.optional_setting(contract.VERIFICATION_TOKENS_TABLE)
        return None if table is None else DynamoDBTaskTokens(client("dynamodb"), table)

    @property
    def verification_required(self) -> bool:
        return config.optional_setting(contract.PRESCRIPTION_VERIFICATION) == contract.PHARMACIST

    @cached_property
    def publisher(self) -> EventBridgePublisher:
        return EventBridgePublisher(client("events"))

    @cached_property
    def bus_name(self) -> str:
        return config.setting(contract.EVENT_BUS_NAME)
