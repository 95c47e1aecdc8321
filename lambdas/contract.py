"""The names the functions and their infrastructure share, each spelled once, here.

`infra/` builds the environment, the index, the event rules, the dashboard and the alarms
with these names; the functions read, query, put and emit with the same ones. Besides this
module, `infra/` imports from `lambdas/` only the two vocabularies of the domain that are
contracts already: `lambdas/domain/errors.py` (the error names the state machine's Catch and
Retry clauses match) and `lambdas/domain/states.py` (the steps and compensations, whose
values are the handlers' names). Never adapters, use cases or handlers (tests/infra/test_contract.py).

Plain constants only: importing this module imports nothing else.
"""

from __future__ import annotations

# --- the environment: variable names infra/ sets and lambdas/config.py reads ---------------

EVENT_STORE_TABLE = "EVENT_STORE_TABLE"
SAGA_TABLE = "SAGA_TABLE"
CATALOGUE_TABLE = "CATALOGUE_TABLE"
INVENTORY_TABLE = "INVENTORY_TABLE"
RESERVATIONS_TABLE = "RESERVATIONS_TABLE"
PRESCRIPTIONS_TABLE = "PRESCRIPTIONS_TABLE"
SHIPMENTS_TABLE = "SHIPMENTS_TABLE"
STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
RESUME_STATE_MACHINE_ARN = "RESUME_STATE_MACHINE_ARN"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
FAULT_INJECTION_PARAMETER = "FAULT_INJECTION_PARAMETER"
"""Set only on stacks synthesized with fault injection enabled; absent means no faults, ever."""
PHARMACY_API_URL = "PHARMACY_API_URL"
VERIFICATION_TOKENS_TABLE = "VERIFICATION_TOKENS_TABLE"
"""Where the task token of a saga waiting for a pharmacist is kept, by order id (never leaves the stack)."""
PRESCRIPTION_VERIFICATION = "PRESCRIPTION_VERIFICATION"
"""Set to PHARMACIST on start_saga when the stack waits for a pharmacist once the prescription is made."""
PHARMACIST = "pharmacist"
PHARMACY_API_SECRET = "PHARMACY_API_SECRET"
"""Set only on the functions of the steps configured to call the pharmacy's API (and their
compensations): its base URL, and the name or ARN of the secret holding its token (never the token)."""

# --- the order bus: an order, and the requests about it (a pharmacist's answer, a cancellation) ---

ORDER_SOURCE = "pharmacy.orders"
ORDER_DETAIL_TYPE = "OrderCreated"

VERIFICATION_SOURCE = "pharmacy.prescriptions"
PRESCRIPTION_VERIFIED = "PrescriptionVerified"
PRESCRIPTION_REJECTED = "PrescriptionRejected"
CANCELLATION_SOURCE = ORDER_SOURCE
"""The orders' own source: whoever may send an order may cancel it."""
CANCELLATION_REQUESTED = "OrderCancellationRequested"

# --- tables ---------------------------------------------------------------------------------

STATE_INDEX = "by-state"
"""The saga table's GSI: partition `state`, sort `updated_at` — answers "which sagas are pending/failed/...?"."""

TASK_TOKEN_EXPIRES = "expires_at"
"""The verification tokens table's TTL attribute (epoch seconds)."""

# --- the domain events' bus ---------------------------------------------------------------

DOMAIN_EVENT_SOURCE = "pharmacy.saga"
"""The `source` of every domain event the publisher puts (DetailType is the event's type key)."""

# --- metrics: what the functions emit and the dashboard and alarms read ----------------------

METRICS_NAMESPACE = "OrderFulfillment"
SERVICE = "order-fulfillment"
"""The functions' service name: in every log line, and the `service` dimension of every metric."""
SERVICE_DIMENSION = "service"
"""The dimension Powertools Metrics gives every metric, valued SERVICE."""
COMPENSATION_DIMENSION = "compensation"
"""COMPENSATIONS_RUN's dimension: the compensation's name."""

SAGAS_STARTED = "SagasStarted"
SAGAS_COMPLETED = "SagasCompleted"
SAGAS_FAILED = "SagasFailed"
SAGAS_REJECTED = "SagasRejected"
SAGAS_CANCELLED = "SagasCancelled"
SAGAS_PARKED = "CompensationFailures"
COMPENSATIONS_RUN = "CompensationsRun"
SAGA_DURATION = "SagaDuration"
CONFLICTING_ORDERS = "ConflictingOrders"
SAGAS_COMPENSATED_AFTER_EXECUTION_ENDED = "SagasCompensatedAfterExecutionEnded"
"""Emitted by record_execution_outcome: a saga whose execution ended unfinished is being compensated."""
PHARMACY_API_ERRORS = "PharmacyApiErrors"
"""A call to the pharmacy's API answered neither done nor refused (lambdas/adapters/pharmacy_calls.py)."""
OPERATION_DIMENSION = "operation"
"""PHARMACY_API_ERRORS' dimensions: the contract's operationId and the status class (4xx, 5xx, no answer)."""
STATUS_CLASS_DIMENSION = "status_class"
PHARMACY_OPERATIONS: dict[str, tuple[str, str]] = {
    "prescriptions": ("createPrescription", "cancelPrescription"),
    "inventory": ("reserveInventory", "releaseInventory"),
    "shipments": ("createShipment", "cancelShipment"),
}
"""Each system a pharmacy connects (the values of `pharmacy_api_steps`) -> the operationIds of its step and of
its compensation in docs/pharmacy-api.yaml."""
PHARMACY_STATUS_CLASSES = ("4xx", "5xx", "no answer")
"""The status classes PHARMACY_API_ERRORS is counted by (2xx is done: never an error)."""
VERIFICATIONS_OVERDUE = "VerificationsOverdue"
"""A saga waited for a pharmacist past its deadline and is being compensated (the projector counts it)."""
STEPS_GAVE_UP = "StepsGaveUp"
"""A step that failed on a transient error after its retries, so its saga is compensated (the projector
counts it from the saga's move to COMPENSATING, whose reason is the error's name)."""
ERROR_DIMENSION = "error"
"""STEPS_GAVE_UP's dimension: the error's name (PharmacyUnavailable, ConcurrencyConflict, ...)."""
PHARMACY_CONTRACT_ERRORS = "PharmacyContractErrors"
"""A step or compensation failed with PharmacyContractError: the API or its configuration is wrong."""
