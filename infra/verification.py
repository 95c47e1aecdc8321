"""The pharmacist verification configuration (CDK context), parsed once at synthesis into a small model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import Duration

from infra import names
from lambdas.contract import PHARMACIST

DEFAULT_DEADLINE_MINUTES = 1440
MAX_DEADLINE_MINUTES = 365 * 24 * 60 - 60
"""A Standard execution runs at most one year (Step Functions quotas); the rest of the saga needs its time too."""


class VerificationConfigurationError(ValueError):
    """A verification context value the stack cannot use; the message says what to write instead."""


@dataclass(frozen=True)
class PharmacistVerification:
    """Every prescription waits for a pharmacist's decision, at most `deadline`."""

    deadline: Duration


def split_list(value: object) -> list[str]:
    """`-c key=a,b` or a JSON list in cdk.json."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def pharmacist_verification(context: Callable[[str], object]) -> PharmacistVerification | None:
    """`prescription_verification=pharmacist` (off when absent or `none`), `verification_deadline_minutes`."""
    mode = str(context(names.CONTEXT_PRESCRIPTION_VERIFICATION) or "none").strip().lower()
    raw_deadline = context(names.CONTEXT_VERIFICATION_DEADLINE)
    if mode == "none":
        if raw_deadline not in (None, ""):
            raise VerificationConfigurationError(
                f"{names.CONTEXT_VERIFICATION_DEADLINE} needs {names.CONTEXT_PRESCRIPTION_VERIFICATION}={PHARMACIST}"
            )
        return None
    if mode != PHARMACIST:
        raise VerificationConfigurationError(
            f"{names.CONTEXT_PRESCRIPTION_VERIFICATION} is {PHARMACIST!r} or 'none', not {mode!r}"
        )
    text = str(DEFAULT_DEADLINE_MINUTES if raw_deadline in (None, "") else raw_deadline).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DEADLINE_MINUTES:
        raise VerificationConfigurationError(
            f"{names.CONTEXT_VERIFICATION_DEADLINE} is a whole number of minutes from 1 to {MAX_DEADLINE_MINUTES},"
            f" not {text!r}"
        )
    return PharmacistVerification(deadline=Duration.minutes(int(text)))
