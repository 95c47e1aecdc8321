"""A rejected order's reasons in a person's words: what a field must be, never what was sent."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

FALLBACK_PREFIX = "not valid: "
"""Before pydantic's own message, for an error type this module has no words for (a new constraint)."""

_THINGS = {
    "order": "the order",
    "medications.N": "a medication line",
    "shipping_address": "the shipping address",
}
"""What holds a key the client made up (shown as `<key>`: a key name is the client's)."""

_FORMATS = {
    "order_id": "1 to 80 letters, digits, '-' or '_' (it names the saga's execution)",
    "medications.N.medication_id": "letters, digits, '_', '.' or '-'",
}
"""Each field with a pattern: the pattern said in words."""

Words = Callable[[str, Mapping[str, Any]], str]


def _characters(count: int) -> str:
    return f"{count} character{'' if count == 1 else 's'}"


def _too_short_text(field: str, ctx: Mapping[str, Any]) -> str:
    shortest = int(ctx["min_length"])
    return "must not be empty" if shortest == 1 else f"at least {_characters(shortest)} are needed"


def _lines(count: int) -> str:
    return "one line" if count == 1 else f"{count} lines"


def _pattern(field: str, ctx: Mapping[str, Any]) -> str:
    return f"must be {_FORMATS.get(field, 'in the documented format')}"


def _value_error(field: str, ctx: Mapping[str, Any]) -> str:
    # Raised by our own validators (lambdas/domain/order.py): their messages name bounds, never values.
    return str(ctx["error"]) if "error" in ctx else "not valid"


def _extra(field: str, ctx: Mapping[str, Any]) -> str:
    parent = field.rpartition(".")[0] or "order"
    return f"is not a field of {_THINGS.get(parent, 'the order')}"


def _object(field: str, ctx: Mapping[str, Any]) -> str:
    if field == "medications.N":
        return "must be a medication id, or an object with medication_id and quantity"
    return "must be an object"


_WORDS: dict[str, Words] = {
    "missing": lambda f, c: "is required",
    "extra_forbidden": _extra,
    "string_type": lambda f, c: "must be text",
    "string_too_short": _too_short_text,
    "string_too_long": lambda f, c: f"at most {_characters(int(c['max_length']))}",
    "string_pattern_mismatch": _pattern,
    "int_type": lambda f, c: "must be a whole number",
    "greater_than_equal": lambda f, c: f"must be at least {c['ge']}",
    "less_than_equal": lambda f, c: f"must be at most {c['le']}",
    "list_type": lambda f, c: "must be a list of lines",
    "too_short": lambda f, c: f"at least {_lines(int(c['min_length']))} is needed",
    "too_long": lambda f, c: f"at most {_lines(int(c['max_length']))}",
    "dict_type": _object,
    "model_type": _object,
    "model_attributes_type": _object,
    "value_error": _value_error,
}
"""Every error type the order model raises (tests/unit/test_order_wording.py makes each one), in words."""

_FIELD_WORDS: dict[tuple[str, str], str] = {
    ("shipping_address.country", "string_too_short"): "must be a two-letter country code (ISO 3166-1), e.g. US",
    ("shipping_address.country", "string_too_long"): "must be a two-letter country code (ISO 3166-1), e.g. US",
}
"""Where a field's constraint says more in its own words than in the type's."""

_INDEX = re.compile(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.|$)")


def worded(where: str, error: Mapping[str, Any]) -> str:
    """`where: what it must be`, for one pydantic error (its input, context values from the client and
    URL left out). An unknown error type keeps pydantic's message, marked, so it is seen and worded."""
    field = _INDEX.sub("N", where)
    kind = str(error["type"])
    words = _WORDS.get(kind)
    if (field, kind) in _FIELD_WORDS:
        said = _FIELD_WORDS[(field, kind)]
    elif words is not None:
        said = words(field, error.get("ctx") or {})
    else:
        said = FALLBACK_PREFIX + str(error["msg"])
    return f"{where}: {said}"
