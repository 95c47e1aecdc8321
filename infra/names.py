"""Names and constants of the stack: construct ids, outputs, context keys, handler paths."""

from __future__ import annotations

from lambdas.domain.states import Compensation, Step

DEFAULT_STACK_NAME = "OrderFulfillment"

# CDK context keys (cdk.json or `-c key=value`)
CONTEXT_STACK_NAME = "stack_name"
CONTEXT_FAULT_INJECTION = "fault_injection"
CONTEXT_ENVIRONMENT = "environment"
CONTEXT_ORDER_PRODUCERS = "order_producers"
"""Who may put orders on the order bus besides this account: account ids or IAM ARNs, comma-separated."""
PRODUCTION = "production"
CONTEXT_PHARMACY_API_URL = "pharmacy_api_url"
CONTEXT_PHARMACY_API_SECRET = "pharmacy_api_secret"
CONTEXT_PHARMACY_API_STEPS = "pharmacy_api_steps"
CONTEXT_PHARMACY_API_SECRET_KEY = "pharmacy_api_secret_key"
"""The pharmacy's own systems over HTTP (docs/pharmacy-api.yaml); parsed in infra/pharmacy.py."""
CONTEXT_PRESCRIPTION_VERIFICATION = "prescription_verification"
CONTEXT_VERIFICATION_DEADLINE = "verification_deadline_minutes"
CONTEXT_VERIFICATION_PRODUCERS = "verification_producers"
"""A pharmacist's verification of each prescription (issue 25); parsed in infra/verification.py."""
CONTEXT_DOMAIN_EVENTS_QUEUE = "domain_events_queue"
"""`true`: a queue subscribed to every published domain event (output DomainEventsQueueUrl), for whoever
reads the events that way (the local tools do); off unless asked, each event it takes is an SQS request."""

# Stack outputs (the public contract: the CLI and the local cloud read these)
OUTPUT_EVENT_BUS = "EventBusName"
OUTPUT_DOMAIN_EVENT_BUS = "DomainEventBusName"
OUTPUT_STATE_MACHINE = "StateMachineArn"
OUTPUT_EVENT_STORE_TABLE = "EventStoreTableName"
OUTPUT_SAGA_TABLE = "SagaTableName"
OUTPUT_INVENTORY_TABLE = "InventoryTableName"
OUTPUT_CATALOGUE_TABLE = "CatalogueTableName"
OUTPUT_PRESCRIPTIONS_TABLE = "PrescriptionsTableName"
OUTPUT_RESERVATIONS_TABLE = "ReservationsTableName"
OUTPUT_SHIPMENTS_TABLE = "ShipmentsTableName"
OUTPUT_START_QUEUE = "StartQueueUrl"
OUTPUT_DEAD_LETTER_QUEUE = "DeadLetterQueueUrl"
OUTPUT_DASHBOARD = "DashboardName"
OUTPUT_DOMAIN_EVENTS_QUEUE = "DomainEventsQueueUrl"
OUTPUT_FAULT_INJECTION_PARAMETER = "FaultInjectionParameterName"
OUTPUT_RESUME_STATE_MACHINE = "ResumeStateMachineArn"
OUTPUT_ALARM_TOPIC = "AlarmTopicArn"
BUSINESS_TABLE_OUTPUTS = {
    "Catalogue": OUTPUT_CATALOGUE_TABLE,
    "Inventory": OUTPUT_INVENTORY_TABLE,
    "Prescriptions": OUTPUT_PRESCRIPTIONS_TABLE,
    "Reservations": OUTPUT_RESERVATIONS_TABLE,
    "Shipments": OUTPUT_SHIPMENTS_TABLE,
}
"""Each business table (as the harness names it) -> the output holding its name."""

LAMBDA_PACKAGE = "lambdas"
START_SAGA = "start_saga"
PROJECTOR = "projector"
PUBLISHER = "publisher"
RECORD_COMPENSATION_FAILURE = "record_compensation_failure"
RESUME_SAGA = "resume_saga"
RECORD_EXECUTION_OUTCOME = "record_execution_outcome"
ORDER_REQUESTS = "order_requests"
"""Takes pharmacists' answers and cancellations from the order bus."""
REQUEST_VERIFICATION = "request_verification"
"""The Verify Prescription task's function; only on a stack that waits for pharmacists."""

STEP_FUNCTIONS = tuple(step.value for step in Step)
COMPENSATION_FUNCTIONS = tuple(c.value for c in Compensation)
ALL_FUNCTIONS = (
    START_SAGA,
    *STEP_FUNCTIONS,
    *COMPENSATION_FUNCTIONS,
    RECORD_COMPENSATION_FAILURE,
    RESUME_SAGA,
    RECORD_EXECUTION_OUTCOME,
    ORDER_REQUESTS,
    PROJECTOR,
    PUBLISHER,
)
"""The functions every stack has (REQUEST_VERIFICATION comes with pharmacist verification)."""


def handler_path(function: str) -> str:
    """The Lambda `Handler` setting for a function: module path inside the asset, then `.handler`."""
    return f"{LAMBDA_PACKAGE}.handlers.{function}.handler"


def construct_id(function: str) -> str:
    """`create_prescription` -> `CreatePrescription`."""
    return "".join(part.title() for part in function.split("_"))
