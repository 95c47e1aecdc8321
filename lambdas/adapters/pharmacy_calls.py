"""What one call to the pharmacy's API answered, in one format that the execution history keeps.

A step's function writes its calls into its result and each failed attempt's error message
(pharmacy_http_client.py); `saga status` and the console read them back from the execution
history (harness/execution_path.py); the wiring counts them as metrics. The text names the
operation, the system (host and port: configuration, not the pharmacy's words) and the HTTP
status or the kind of silence: never a body, a reason or anything about the patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lambdas.contract import PHARMACY_OPERATIONS, PHARMACY_STATUS_CLASSES

BUILT_IN = "built-in"
"""The system of a step that uses the stack's own tables."""

NO_ANSWER = PHARMACY_STATUS_CLASSES[-1]
CANCELS = frozenset(undo for _, undo in PHARMACY_OPERATIONS.values())
"""The contract's undo operations, for which 404 is done (nothing to undo), not an error."""
REFUSALS = frozenset({409, 422})
"""A business refusal: an answer, not an error."""
_CALL = re.compile(
    r"\b(?P<operation>[A-Za-z]{1,40}) at (?P<system>[^\s]{1,300}?): "
    r"(?:HTTP (?P<status>[1-5]\d\d)|no answer \((?P<silence>[A-Za-z]{1,80})\))"
)


@dataclass(frozen=True)
class Call:
    operation: str
    """The contract's operationId."""
    system: str
    status: int | None
    """None: no answer (a refused or dropped connection, a timeout)."""
    silence: str | None = None
    """For no answer: the client's exception name (ReadTimeoutError, ProtocolError, ...)."""

    def __str__(self) -> str:
        said = f"HTTP {self.status}" if self.status is not None else f"{NO_ANSWER} ({self.silence or 'unknown'})"
        return f"{self.operation} at {self.system}: {said}"

    @property
    def status_class(self) -> str:
        """2xx, 4xx, 5xx (the status's hundreds), or `no answer`."""
        return NO_ANSWER if self.status is None else f"{self.status // 100}xx"

    @property
    def is_error(self) -> bool:
        """Neither done nor a business refusal: transient (408, 429, 5xx, no answer) or a contract error."""
        if self.status is None:
            return True
        if 200 <= self.status <= 299 or self.status in REFUSALS:
            return False
        return not (self.status == 404 and self.operation in CANCELS)


def system_of(url: str) -> str:
    """The host and port of the pharmacy's API URL, as operators see the system a step ran against."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url


def parse(text: str) -> Call | None:
    """The call a result's or an error message's text describes (the first one), or None."""
    found = _CALL.search(text)
    if found is None:
        return None
    status = found.group("status")
    return Call(
        found.group("operation"), found.group("system"), int(status) if status else None, found.group("silence")
    )
