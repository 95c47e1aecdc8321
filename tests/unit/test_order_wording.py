"""Every way the order model refuses an order is said in a person's words, naming fields, never values.

The cases are made from the model itself: each field's constraints (required, type, length, pattern,
bounds), an unknown key at each level, and each of its validators' rules; a constraint added later
is made here too, and fails until it has its words.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest
from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel, ValidationError

from lambdas.domain.order import (
    MAX_LINES,
    MAX_METADATA_CHARS,
    MAX_METADATA_DEPTH,
    MAX_QUANTITY,
    OrderCreated,
    OrderLine,
    ShippingAddress,
    validation_reasons,
)
from lambdas.domain.wording import FALLBACK_PREFIX

VALID: dict[str, Any] = {
    "order_id": "o-1",
    "patient_id": "p-1",
    "medications": [{"medication_id": "med-1", "quantity": 1}],
    "shipping_address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
}
WHERE: dict[type[BaseModel], tuple[str | int, ...]] = {
    OrderCreated: (),
    OrderLine: ("medications", 0),
    ShippingAddress: ("shipping_address",),
}
"""Where each model sits in an order."""
CANARY = "Qsecret"
PYDANTIC_PHRASES = ("Input should", "String should", "List should", "Field required", "Extra inputs", "Value error")


def _with(path: tuple[str | int, ...], value: Any, *, delete: bool = False) -> dict[str, Any]:
    order = copy.deepcopy(VALID)
    holder: Any = order
    for part in path[:-1]:
        holder = holder[part]
    if delete:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    return order


def _violations() -> list[tuple[str, dict[str, Any], str | None]]:
    """(case, order, what the sent value was if it is text to look for) for every constraint of the model."""
    cases: list[tuple[str, dict[str, Any], str | None]] = []
    for model, at in WHERE.items():
        cases.append((f"{model.__name__}: unknown key", _with((*at, CANARY), 1), CANARY))
        for name, field in model.model_fields.items():
            path = (*at, name)
            here = ".".join(map(str, path))
            if field.is_required():
                cases.append((f"{here}: missing", _with(path, None, delete=True), None))
            wrong = [CANARY] if field.annotation is int else 12345
            cases.append((f"{here}: wrong type", _with(path, wrong), None))
            for constraint in field.metadata:
                text = field.annotation is not list[OrderLine]
                if isinstance(constraint, MinLen) and constraint.min_length > 0:
                    short = "Z" * (constraint.min_length - 1) if text else []
                    cases.append((f"{here}: too short", _with(path, short), None))
                if isinstance(constraint, MaxLen):
                    n = constraint.max_length + 1
                    long: Any = "Z" * n if text else [f"med-{i}" for i in range(n)]
                    cases.append((f"{here}: too long", _with(path, long), "ZZZ" if text else None))
                if getattr(constraint, "pattern", None):
                    cases.append((f"{here}: pattern", _with(path, f"{CANARY} !"), CANARY))
                if isinstance(constraint, Ge):
                    cases.append((f"{here}: below", _with(path, cast(int, constraint.ge) - 1), None))
                if isinstance(constraint, Le):
                    cases.append((f"{here}: above", _with(path, cast(int, constraint.le) + 1), None))
    # the validators' own rules
    half = MAX_QUANTITY // 2 + 1
    twice = [{"medication_id": "med-1", "quantity": half}, {"medication_id": "med-1", "quantity": half}]
    cases.append(("medications: merged above the maximum", _with(("medications",), twice), None))
    deep: Any = CANARY
    for _ in range(MAX_METADATA_DEPTH + 1):
        deep = [deep]
    cases.append(("metadata: too deep", _with(("metadata",), {"k": deep}), CANARY))
    cases.append(("metadata: not finite", _with(("metadata",), {"n": float("nan")}), None))
    cases.append(("metadata: too long", _with(("metadata",), {"k": "Z" * MAX_METADATA_CHARS}), "ZZZ"))
    cases.append(("metadata: not an object", _with(("metadata",), [CANARY]), CANARY))
    cases.append(("a line neither an id nor an object", _with(("medications", 0), 7), None))
    return cases


def _reasons(order: Any) -> list[str]:
    with pytest.raises(ValidationError) as invalid:
        OrderCreated.model_validate(order)
    return validation_reasons(invalid.value)


@pytest.mark.parametrize(("order", "sent"), [(o, s) for _, o, s in _violations()], ids=[c for c, _, _ in _violations()])
def test_every_refusal_is_worded_for_a_person_and_repeats_nothing_sent(order: dict[str, Any], sent: str | None) -> None:
    reasons = _reasons(order)
    assert reasons
    for reason in reasons:
        assert not reason.split(": ", 1)[1].startswith(FALLBACK_PREFIX), f"no words for: {reason}"
        assert not any(phrase in reason for phrase in PYDANTIC_PHRASES), reason
        if sent is not None:
            assert sent not in reason, reason


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        ({**VALID, "medications": []}, "medications: at least one line is needed"),
        (
            _with(("medications",), [f"m{i}" for i in range(MAX_LINES + 1)]),
            f"medications: at most {MAX_LINES} lines",
        ),
        (_with(("patient_id",), None, delete=True), "patient_id: is required"),
        (_with(("patient_id",), ""), "patient_id: must not be empty"),
        (_with(("medications", 0, "quantity"), 0), "medications.0.quantity: must be at least 1"),
        (
            _with(("medications", 0, "quantity"), MAX_QUANTITY + 1),
            f"medications.0.quantity: must be at most {MAX_QUANTITY}",
        ),
        (_with(("medications", 0, "quantity"), 1.5), "medications.0.quantity: must be a whole number"),
        (
            _with(("shipping_address", "country"), "USA"),
            "shipping_address.country: must be a two-letter country code (ISO 3166-1), e.g. US",
        ),
        (_with(("shipping_address", "zip"), "1"), "shipping_address.<key>: is not a field of the shipping address"),
        ("an order", "order: must be an object"),
    ],
)
def test_reasons_say_what_the_contract_asks(order: Any, reason: str) -> None:
    assert reason in _reasons(order)
