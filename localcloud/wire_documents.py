"""JSON documents on the wire: how deep one nests, and which string members of AWS's APIs carry one."""

from __future__ import annotations

import re

JSON_DOCUMENT_MEMBERS: dict[str, tuple[tuple[str, ...], str]] = {
    # EventBridge fails such an entry alone (MalformedDetail); refused here for the whole request
    "PutEvents": (("Entries", "*", "Detail"), "ValidationException"),
    "StartExecution": (("input",), "InvalidExecutionInput"),  # Step Functions' answer to an input not JSON
    "StartSyncExecution": (("input",), "InvalidExecutionInput"),
    "SendTaskSuccess": (("output",), "InvalidOutput"),
}
"""String members whose value AWS parses as JSON, by operation ("*": each item of a list), with the
error a document there that no parser may read gets."""


_STRING_OR_OTHER = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[^"\[\]{}]+')


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, read as JSON (brackets inside strings do not
    count); computed without parsing, so that no parser recurses into a hostile document."""
    depth = deepest = 0
    for bracket in _STRING_OR_OTHER.sub("", text):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest
