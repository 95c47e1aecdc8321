"""What is kept of a refused message stays in bounds, and no error ever carries an input's value."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import pkgutil
import traceback
from collections.abc import Mapping

import pytest
from botocore.exceptions import ClientError
from pydantic import BaseModel

import lambdas
from lambdas.adapters.memory import InMemoryEventStore
from lambdas.domain import events as ev
from lambdas.domain import intake
from lambdas.domain.projection import apply
from lambdas.logic.publish import bus_entry
from lambdas.logic.repository import SagaRepository
from lambdas.logic.start import start_saga
from tests.fakes import FakeStarter

SECRET = "Qjane-doe-881"


def _body(detail: Mapping[str, object]) -> str:
    return json.dumps({"version": "0", "detail-type": "OrderCreated", "detail": detail})


def test_a_message_that_fits_is_kept_whole_with_its_size_and_digest() -> None:
    raw = _body({"order_id": "o-1", "note": "é" * 10})
    kept = intake.kept_raw_message(raw)
    assert kept == {
        "raw_message": raw,
        "raw_message_bytes": len(raw.encode()),
        "raw_message_sha256": hashlib.sha256(raw.encode()).hexdigest(),
        "raw_message_truncated": False,
    }


@pytest.mark.parametrize("character", ["x", '"', "é", "😀"], ids=["ascii", "quote", "accent", "emoji"])
def test_a_message_too_large_to_store_is_kept_by_a_prefix_bounded_as_stored(character: str) -> None:
    # Escaping can make a message several times larger inside the stored JSON: the bound is on that
    raw = _body({"order_id": "o-1", "note": character * 400_000})
    kept = intake.kept_raw_message(raw)
    assert kept["raw_message_truncated"] is True
    assert raw.startswith(kept["raw_message"])
    assert 0 < len(json.dumps(kept["raw_message"])) <= 16_384, "docs/orders.md: a 16,384-character prefix"
    assert kept["raw_message_bytes"] == len(raw.encode())


def test_reasons_are_capped_in_count_and_length() -> None:
    reasons = [f"field_{n}: " + "y" * 500 for n in range(100)]
    kept = intake.bounded_reasons(reasons)
    assert len(kept) == 20
    assert all(len(r) == 200 for r in kept)
    assert kept[0].startswith("field_0: ")


def test_the_order_digest_ignores_key_order_and_the_envelope() -> None:
    a = {"order_id": "o-1", "patient_id": "p", "medications": ["m"]}
    b = {"medications": ["m"], "patient_id": "p", "order_id": "o-1"}
    assert intake.order_digest(a) == intake.order_digest(b)
    assert intake.message_order_digest(_body(a)) == intake.message_order_digest(json.dumps({"id": "2", "detail": b}))
    assert intake.order_digest(a) != intake.order_digest({**a, "patient_id": "q"})


def test_a_message_nested_too_deeply_is_unusable_not_a_crash() -> None:
    with pytest.raises(intake.UnusableMessage, match="nested too deeply"):
        intake.order_detail('{"detail": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_deeply_nested_metadata_rejects_the_order() -> None:
    delivery = intake.receive(
        _body(
            {
                "order_id": "o-1",
                "patient_id": "p",
                "medications": ["m"],
                "metadata": {"a": json.loads("[" * 900 + "]" * 900)},
            }
        ),
        "m-1",
    )
    assert delivery.order is None
    assert delivery.reasons


def test_every_model_of_the_lambdas_package_hides_its_input_in_errors() -> None:
    models = []
    for module_info in pkgutil.walk_packages(lambdas.__path__, "lambdas."):
        module = importlib.import_module(module_info.name)
        models += [
            m
            for _, m in inspect.getmembers(module, inspect.isclass)
            if issubclass(m, BaseModel) and m.__module__ == module.__name__
        ]
    assert len(models) > 20
    assert [m.__name__ for m in models if not m.model_config.get("hide_input_in_errors")] == []


def test_a_crash_saving_a_rejection_carries_no_value_of_the_order_in_its_traceback() -> None:
    class Throttled(InMemoryEventStore):
        def append(self, events: object) -> None:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    body = _body({"order_id": "o-1", "patient_id": SECRET * 20, "medications": [{"medication_id": SECRET}]})
    with pytest.raises(ClientError) as crash:
        start_saga(SagaRepository(Throttled(), source="test"), FakeStarter(), body, "m-1")
    text = "".join(traceback.format_exception(crash.value))
    assert "ThrottlingException" in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({"note": "n" * 9000}, "metadata: metadata is longer than 8192 characters as JSON"),
        (
            {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}},
            "metadata: metadata nests deeper than 8 levels",
        ),
    ],
    ids=["long", "deep"],
)
def test_metadata_beyond_its_bounds_rejects_the_order_naming_the_bound(
    metadata: dict[str, object], reason: str
) -> None:
    detail = {"order_id": "o-1", "patient_id": "p", "medications": ["m"], "metadata": metadata}
    assert intake.receive(_body(detail), "m-1").reasons == [reason]


KEY_CANARY = "KEYCANARY Jane Doe DOB 1970-01-01 HIV+"
"""A key named like a diagnosis (issue 23, finding 5): a key name is input, and may be patient data."""


def test_a_key_name_reaches_no_reason_no_stored_or_published_event_field_and_no_projection_row() -> None:
    # Given an order whose unknown keys, at the top, in a line and in the address, are patient data
    detail = {
        "order_id": "o-1",
        "patient_id": "p",
        "medications": [{"medication_id": "m", KEY_CANARY: 1}],
        "shipping_address": {"line1": "l", "city": "c", "postal_code": "1", "country": "US", KEY_CANARY: 1},
        KEY_CANARY: 1,
    }
    store = InMemoryEventStore()
    outcome = start_saga(SagaRepository(store, source="test"), FakeStarter(), _body(detail), "m-1")
    # Then it is rejected, for reasons that name where, in the contract's words, and not the key
    assert outcome == "rejected"
    [stored] = list(store.iter_all())
    rejected = stored.to_domain()
    assert isinstance(rejected, ev.OrderRejected)
    assert sorted(rejected.reasons) == [
        "<key>: is not a field of the order",
        "medications.0.<key>: is not a field of a medication line",
        "shipping_address.<key>: is not a field of the shipping address",
    ]
    # and the canary is kept only in the raw message, which is private (never published)
    assert KEY_CANARY in rejected.raw_message
    assert "raw_message" in ev.OrderRejected.PRIVATE_FIELDS
    published = json.dumps(bus_entry(stored, "domain-bus"))
    assert "KEYCANARY" not in published
    row = apply(None, stored)
    assert row is not None
    assert "KEYCANARY" not in row.model_dump_json()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_an_order_holding_a_number_that_is_not_json_is_rejected_with_its_raw_message_kept(literal: str) -> None:
    # Given a message body (as SQS delivers it, not checked by EventBridge) whose metadata holds
    # NaN or Infinity: not JSON numbers (RFC 8259, section 6), which json.loads reads all the same
    body = (
        '{"detail-type": "OrderCreated", "detail": {"order_id": "o-1", "patient_id": "p", "medications": ["m"], '
        f'"metadata": {{"score": {literal}}}}}}}'
    )
    store = InMemoryEventStore()
    # Then the order is rejected (not dead-lettered, not started with the number turned into null)
    assert start_saga(SagaRepository(store, source="test"), FakeStarter(), body, "m-1") == "rejected"
    [stored] = list(store.iter_all())
    rejected = stored.to_domain()
    assert isinstance(rejected, ev.OrderRejected)
    assert rejected.reasons == ["metadata: metadata holds a number that is not finite (NaN, Infinity or out of range)"]
    # with the message kept as it came
    assert rejected.raw_message == body
    assert rejected.raw_message_truncated is False
