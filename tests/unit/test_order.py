"""The OrderCreated contract: what is accepted, normalised, and rejected with which reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lambdas.domain.order import OrderCreated, usable_order_id, validation_reasons

SEED_EXAMPLE = {"order_id": "order-123", "patient_id": "patient-456", "medications": ["med-1", "med-2"]}


def test_the_seed_example_is_a_valid_order() -> None:
    order = OrderCreated.model_validate(SEED_EXAMPLE)
    assert [(line.medication_id, line.quantity) for line in order.medications] == [("med-1", 1), ("med-2", 1)]
    assert order.shipping_address is None


def test_bare_ids_and_objects_mix_and_repeats_merge() -> None:
    order = OrderCreated.model_validate(
        {**SEED_EXAMPLE, "medications": ["med-1", {"medication_id": "med-2", "quantity": 2}, "med-1"]}
    )
    assert [(line.medication_id, line.quantity) for line in order.medications] == [("med-1", 2), ("med-2", 2)]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"order_id": "has space"}, "order_id"),
        ({"order_id": "x" * 81}, "order_id"),
        ({"patient_id": ""}, "patient_id"),
        ({"medications": []}, "medications"),
        ({"medications": [{"medication_id": "m", "quantity": 0}]}, "medications.0.quantity"),
        ({"medications": [{"medication_id": "m", "quantity": "2"}]}, "medications.0.quantity"),
        ({"shipping_address": {"line1": "x"}}, "shipping_address.city"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_orders_are_rejected_with_a_located_reason(change: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        OrderCreated.model_validate({**SEED_EXAMPLE, **change})
    reasons = validation_reasons(invalid.value)
    assert any(reason.startswith(where) for reason in reasons), reasons


def test_rejection_reasons_do_not_echo_patient_data() -> None:
    with pytest.raises(ValidationError) as invalid:
        OrderCreated.model_validate({**SEED_EXAMPLE, "patient_id": 12345678, "medications": ["SECRET-MED", 7]})
    text = " ".join(validation_reasons(invalid.value))
    assert "12345678" not in text
    assert "SECRET-MED" not in text


@pytest.mark.parametrize(
    ("detail", "expected"),
    [({"order_id": "ok-1"}, "ok-1"), ({"order_id": "no spaces"}, None), ({}, None), ("text", None)],
)
def test_usable_order_id(detail: Any, expected: str | None) -> None:
    assert usable_order_id(detail) == expected
