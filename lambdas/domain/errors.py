"""The saga's error vocabulary: the Lambdas raise these, the state machine matches their names.

Step Functions matches a Catch or Retry clause on the exception's class name, exactly
(no inheritance), so the infrastructure imports the name lists at the bottom of this
module instead of spelling error names itself.
"""

from __future__ import annotations


class SagaError(Exception):
    """Base of every error the saga raises on purpose."""


# --- business failures: the step cannot succeed for this order; compensate ---------


class BusinessFailure(SagaError):
    """A step refused the order for a business reason. Never retried.

    `reason` is kept with the saga (its events, shown escaped). The exception's message is what the
    Lambda runtime logs and Step Functions keeps as the error's cause, so a reason said by a system
    outside (a pharmacy's answer: untrusted, perhaps patient data) is never the message."""

    OUTSIDE_MESSAGE = "refused by the system the step called; its reason is in the saga's events"

    def __init__(self, reason: str, *, from_outside: bool = False, answered_by: str | None = None) -> None:
        """`answered_by`: the call whose answer the refusal is (operation, system, status: no words of
        the answer), put before the message so the execution history says who refused, and how."""
        message = self.OUTSIDE_MESSAGE if from_outside else reason
        super().__init__(f"{answered_by}: {message}" if answered_by else message)
        self.reason = reason
        self.from_outside = from_outside


class PrescriptionFailed(BusinessFailure):
    """A medication is unknown or a quantity is above its per-prescription maximum."""


class InventoryReservationFailed(BusinessFailure):
    """At least one line lacks stock; nothing was reserved."""


class ShipmentInitiationFailed(BusinessFailure):
    """The shipping address is not deliverable."""


class PharmacistRejected(BusinessFailure):
    """The pharmacist rejected the prescription: its waiting task fails with this name (SendTaskFailure)."""


# --- transient failures: retry the same step ------------------------------------------


class TransientError(SagaError):
    """A failure that is expected to pass: retry with backoff."""


class ConcurrencyConflict(TransientError):
    """Another writer appended to the same event stream first (optimistic concurrency)."""


class InjectedTransientFault(TransientError):
    """A transient failure raised on purpose by fault injection (chaos tests, demos)."""


class PharmacyUnavailable(TransientError):
    """The pharmacy's API did not answer, or answered 408, 429 or 5xx: retry with the same key."""

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


# --- permanent failures that are not the order's fault ----------------------------------


class InjectedPermanentFault(SagaError):
    """A permanent failure raised on purpose by fault injection (chaos tests, demos)."""


class PharmacyContractError(SagaError):
    """The pharmacy's API answered outside what the contract allows for the request (400, 401, 403,
    404 on a create, a cancel refused, an unreadable answer): a wrong URL, token or body. Not retried."""


class IllegalTransition(SagaError):
    """The saga aggregate refused a state change that the saga's rules do not allow."""


class SagaNotFound(SagaError):
    """A step ran for an order whose saga was never started."""


# --- the names Step Functions sees ------------------------------------------------------

LAMBDA_SERVICE_ERRORS: tuple[str, ...] = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
)

TRANSIENT_ERRORS: tuple[str, ...] = (
    *LAMBDA_SERVICE_ERRORS,
    TransientError.__name__,
    ConcurrencyConflict.__name__,
    InjectedTransientFault.__name__,
    PharmacyUnavailable.__name__,
)
"""Retried on every step and compensation."""

PRESCRIPTION_FAILED = PrescriptionFailed.__name__
INVENTORY_RESERVATION_FAILED = InventoryReservationFailed.__name__
SHIPMENT_INITIATION_FAILED = ShipmentInitiationFailed.__name__

PHARMACIST_REJECTED = PharmacistRejected.__name__
VERIFICATION_TIMEOUTS: tuple[str, ...] = ("States.Timeout", "States.HeartbeatTimeout")
"""What a waiting task that got no answer fails with: past its TimeoutSeconds, or its HeartbeatSeconds
(Step Functions developer guide, "Error handling in Step Functions": error names)."""

ILLEGAL_TRANSITION = IllegalTransition.__name__
SAGA_NOT_FOUND = SagaNotFound.__name__
ALL_ERRORS = "States.ALL"
