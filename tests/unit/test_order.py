"""The OrderCreated contract: what is accepted, normalised, and rejected with which reason."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from lambdas.domain.order import OrderCreated, usable_order_id, validation_reasons

CANARY = "KEYCANARY Jane Doe DOB 1970-01-01 HIV+"
"""A key name a client might send: the issue's own example of a key that is patient data."""

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
        ({"unexpected": 1}, "<key>"),
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


def _reasons(detail: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as invalid:
        OrderCreated.model_validate(detail)
    return validation_reasons(invalid.value)


def test_a_key_the_client_named_is_never_repeated_in_a_reason_only_our_field_names_and_indexes() -> None:
    # Given the canary as a key at every level a client can name one: the order, a line, the
    # address, and (in an otherwise invalid order) the metadata
    reasons = _reasons(
        {
            **SEED_EXAMPLE,
            CANARY: 1,
            "medications": ["med-1", {"medication_id": "med-2", CANARY: 1}],
            "shipping_address": {"line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US", CANARY: 1},
            "metadata": {CANARY: {CANARY: [[[[[[[{}]]]]]]]}},
        }
    )
    # Then every reason is located in the contract's own words (docs/orders.md, DESIGN.md's order
    # event): the unknown keys by a placeholder, a line by its index
    assert sorted(reasons) == sorted(
        [
            "<key>: is not a field of the order",
            "medications.1.<key>: is not a field of a medication line",
            "shipping_address.<key>: is not a field of the shipping address",
            "metadata: metadata nests deeper than 8 levels",
        ]
    )
    assert not [r for r in reasons if "KEYCANARY" in r]


def test_a_key_named_like_one_of_our_fields_in_the_wrong_place_is_still_the_clients() -> None:
    # `city` is a field of the address, not of a line: there it is a key the client made up
    reasons = _reasons({**SEED_EXAMPLE, "medications": [{"medication_id": "m", "city": "x"}]})
    assert reasons == ["medications.0.<key>: is not a field of a medication line"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_number_that_is_not_finite_anywhere_in_the_metadata_is_refused_without_its_value(literal: str) -> None:
    # Given metadata as json.loads reads it: NaN and Infinity are not JSON (RFC 8259, section 6),
    # Python reads them as floats, and 1e400 overflows a double to inf
    metadata = json.loads(f'{{"source": "api", "deep": [{{"n": {literal}}}]}}')
    assert not math.isfinite(metadata["deep"][0]["n"])
    reasons = _reasons({**SEED_EXAMPLE, "metadata": metadata})
    assert reasons == ["metadata: metadata holds a number that is not finite (NaN, Infinity or out of range)"]


def test_a_number_that_is_not_finite_is_refused_in_every_other_field_too() -> None:
    nan = float("nan")
    reasons = _reasons({**SEED_EXAMPLE, "patient_id": nan, "medications": [{"medication_id": "m", "quantity": nan}]})
    assert sorted(r.split(":")[0] for r in reasons) == ["medications.0.quantity", "patient_id"]
    assert not [r for r in reasons if "nan" in r.lower()]


@pytest.mark.parametrize(
    ("field", "escaped"),
    [
        ("metadata", '{"\\ud800": "v"}'),  # a key
        ("metadata", '{"k": ["x\\udfff"]}'),  # a value, nested
        ("patient_id", '"p\\ud83d"'),  # the first half of a pair, alone
    ],
)
def test_text_with_a_lone_surrogate_is_refused_where_it_is_without_its_value(field: str, escaped: str) -> None:
    # Given a detail as json.loads reads JSON that escapes half a surrogate pair: a str UTF-8 cannot encode
    # (RFC 8259, section 8.2: such strings' meaning is left open), which the saga's event would change
    value = json.loads(escaped)
    reasons = _reasons({**SEED_EXAMPLE, field: value})
    assert reasons == [f"{field}: holds text that is not valid Unicode (a lone surrogate, U+D800 to U+DFFF)"]


def test_a_surrogate_pair_is_one_character_and_accepted() -> None:
    metadata = json.loads('{"emoji \\ud83d\\ude00": "\\ud83d\\ude00"}')
    assert metadata == {"emoji 😀": "😀"}
    assert OrderCreated.model_validate({**SEED_EXAMPLE, "metadata": metadata}).metadata == metadata
