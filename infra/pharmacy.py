"""The pharmacy API configuration (CDK context), parsed once at synthesis into a small model."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from infra import names
from lambdas.contract import PHARMACY_OPERATIONS
from lambdas.domain.states import Compensation, Step

PRESCRIPTIONS, INVENTORY, SHIPMENTS = SYSTEMS = tuple(PHARMACY_OPERATIONS)
"""The systems a pharmacy may connect, in the saga's order (the values of `pharmacy_api_steps`)."""

FUNCTIONS: dict[str, tuple[str, str]] = {
    PRESCRIPTIONS: (Step.CREATE_PRESCRIPTION.value, Compensation.CANCEL_PRESCRIPTION.value),
    INVENTORY: (Step.RESERVE_INVENTORY.value, Compensation.RELEASE_INVENTORY.value),
    SHIPMENTS: (Step.INITIATE_SHIPMENT.value, Compensation.CANCEL_SHIPMENT.value),
}
"""Each system is called by its step and by that step's compensation: both need it or neither."""

SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})")
"""A key's ARN (an alias cannot name a key in a policy's Resource: KMS developer guide, "Using aliases")."""
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
"""Secrets Manager's own rules for a name (letters, digits, /_+=.@-, at most 512 characters)."""

NAMED_SECRET_SUFFIX = "-??????"
"""Secrets Manager adds a hyphen and six random characters to a secret's ARN: a policy that names
the secret by its name matches them with six `?` (never `*`, which would match other secrets)."""


class PharmacyConfigurationError(ValueError):
    """A pharmacy API context value the stack cannot use; the message says what to write instead."""


@dataclass(frozen=True)
class PharmacyApi:
    """Where the pharmacy's API is, the secret holding its token, and the steps that call it."""

    url: str
    secret: str
    """The secret's name, or its complete ARN."""
    steps: tuple[str, ...]
    secret_key: str | None = None
    """The ARN of the customer managed KMS key the secret is encrypted with; None for Secrets Manager's
    own AWS managed key, which needs no grant."""

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions that call the pharmacy: each configured step's, and its compensation's."""
        return tuple(function for step in self.steps for function in FUNCTIONS[step])

    def calls_pharmacy(self, function: str) -> bool:
        return function in self.functions

    def secret_arn(self, format_arn: Callable[[str], str]) -> str:
        """The secret's ARN for a policy: as given, or made from its name by `format_arn` (which
        fills in this stack's partition, region and account) with the six-character suffix."""
        if self.secret.startswith("arn:"):
            return self.secret
        return format_arn(f"{self.secret}{NAMED_SECRET_SUFFIX}")


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _url(value: str) -> str:
    example = "write https://pharmacy.example.com/api (or http://127.0.0.1:PORT for the local cloud)"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise PharmacyConfigurationError(f"{names.CONTEXT_PHARMACY_API_URL} is not a URL: {example}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PharmacyConfigurationError(
            f"{names.CONTEXT_PHARMACY_API_URL} must be an absolute https:// URL with a host: {example}"
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        # The URL goes into the functions' environment: credentials belong in the secret.
        raise PharmacyConfigurationError(
            f"{names.CONTEXT_PHARMACY_API_URL} must hold no user, password, query or fragment "
            f"(the token goes in {names.CONTEXT_PHARMACY_API_SECRET}): {example}"
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise PharmacyConfigurationError(
            f"{names.CONTEXT_PHARMACY_API_URL} must use https:// (http:// is allowed only for a loopback host, "
            f"the local cloud's reference pharmacy): {example}"
        )
    del port  # read only to have a malformed port refused above
    return value.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secret(value: str) -> str:
    if SECRET_ARN.fullmatch(value) or (not value.startswith("arn:") and SECRET_NAME.fullmatch(value)):
        return value
    raise PharmacyConfigurationError(
        f"{names.CONTEXT_PHARMACY_API_SECRET} must be the name of a Secrets Manager secret (letters, digits "
        "and /_+=.@-) or its ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef) holding the token"
    )


def _secret_key(value: str) -> str | None:
    if not value:
        return None
    if KMS_KEY_ARN.fullmatch(value):
        return value
    raise PharmacyConfigurationError(
        f"{names.CONTEXT_PHARMACY_API_SECRET_KEY} must be the ARN of the customer managed KMS key the secret is "
        "encrypted with (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID, not an alias), or be left out for the AWS managed key"
    )


def _steps(value: object) -> tuple[str, ...]:
    if value is None or _text(value) == "":
        return SYSTEMS
    items = value if isinstance(value, list) else str(value).split(",")
    chosen = {_text(item) for item in items}
    unknown = sorted(item for item in chosen if item not in SYSTEMS)
    if unknown or not chosen:
        raise PharmacyConfigurationError(
            f"{names.CONTEXT_PHARMACY_API_STEPS} must list some of {','.join(SYSTEMS)}, comma-separated "
            f"(or be left out for all three); {len(unknown)} value(s) are not among them"
        )
    return tuple(step for step in SYSTEMS if step in chosen)


def pharmacy_api(context: Callable[[str], object]) -> PharmacyApi | None:
    """The configuration from CDK context (`try_get_context`), or None: every step on the built-in tables."""
    url = _text(context(names.CONTEXT_PHARMACY_API_URL))
    secret = _text(context(names.CONTEXT_PHARMACY_API_SECRET))
    steps = context(names.CONTEXT_PHARMACY_API_STEPS)
    secret_key = _text(context(names.CONTEXT_PHARMACY_API_SECRET_KEY))
    if not url:
        if secret or _text(steps) or secret_key:
            raise PharmacyConfigurationError(
                f"{names.CONTEXT_PHARMACY_API_SECRET}, {names.CONTEXT_PHARMACY_API_STEPS} and "
                f"{names.CONTEXT_PHARMACY_API_SECRET_KEY} apply only with "
                f"{names.CONTEXT_PHARMACY_API_URL}: add -c {names.CONTEXT_PHARMACY_API_URL}=https://... "
                "or leave them out to keep the built-in tables"
            )
        return None
    if not secret:
        raise PharmacyConfigurationError(
            f"{names.CONTEXT_PHARMACY_API_URL} needs {names.CONTEXT_PHARMACY_API_SECRET}: add "
            f"-c {names.CONTEXT_PHARMACY_API_SECRET}=NAME-OR-ARN of the Secrets Manager secret holding the API token"
        )
    return PharmacyApi(url=_url(url), secret=_secret(secret), steps=_steps(steps), secret_key=_secret_key(secret_key))
