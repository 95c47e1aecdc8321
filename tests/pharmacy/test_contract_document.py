"""docs/pharmacy-api.yaml is a valid OpenAPI 3.1 document that says what issue 24 asks of the contract,
with the bounds of the saga's own order model, and the reference service serves its paths."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.versions.shortcuts import get_spec_version

from lambdas.domain.order import MAX_LINES, ORDER_ID_PATTERN, OrderCreated, OrderLine, ShippingAddress
from lambdas.domain.rules import prescription_id, reservation_id, shipment_id
from pharmacy_reference.app import ROUTES
from tests.pharmacy.contract_client import CONTRACT

SPEC: dict[str, Any] = yaml.safe_load(CONTRACT.read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

# Issue 24, part 1: exactly these six operationIds.
OPERATION_IDS = {
    "createPrescription",
    "cancelPrescription",
    "reserveInventory",
    "releaseInventory",
    "createShipment",
    "cancelShipment",
}
CREATES = {"createPrescription", "reserveInventory", "createShipment"}


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (method, path, the operation with its path's parameters)."""
    found = {}
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                merged = {**operation, "parameters": item.get("parameters", []) + operation.get("parameters", [])}
                found[operation["operationId"]] = (method.upper(), path, merged)
    return found


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = SPEC["components"][section][name]
    return node


def test_the_contract_is_a_valid_openapi_3_1_document() -> None:
    assert get_spec_version(SPEC).major == "3"
    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC)  # raises on an invalid document


def test_it_has_exactly_the_six_operations_of_the_issue() -> None:
    assert set(_operations()) == OPERATION_IDS


@pytest.mark.parametrize("operation_id", sorted(OPERATION_IDS))
def test_every_operation_requires_an_idempotency_key_header(operation_id: str) -> None:
    parameters = [_resolve(p) for p in _operations()[operation_id][2]["parameters"]]
    keys = [p for p in parameters if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert len(keys) == 1
    assert keys[0]["required"] is True


def test_every_request_needs_a_bearer_token() -> None:
    assert SPEC["security"] == [{"bearerToken": []}]
    scheme = SPEC["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert all("security" not in operation for _, _, operation in _operations().values())


@pytest.mark.parametrize("operation_id", sorted(CREATES))
def test_a_create_declares_each_status_class_the_saga_tells_apart(operation_id: str) -> None:
    responses = _operations()[operation_id][2]["responses"]
    # done; refused; contract or configuration error; transient (issue 24, part 1)
    assert {"201", "409", "422", "400", "401", "403", "404", "408", "429", "5XX"} <= set(responses)
    for refusal in ("409", "422"):
        reason = _resolve(_resolve(responses[refusal])["content"]["application/json"]["schema"])
        assert reason["required"] == ["reason"]
    for transient in ("429", "5XX"):
        assert "Retry-After" in _resolve(responses[transient])["headers"]


@pytest.mark.parametrize("operation_id", sorted(OPERATION_IDS - CREATES))
def test_a_cancel_succeeds_and_may_answer_404_for_what_was_never_created(operation_id: str) -> None:
    responses = _operations()[operation_id][2]["responses"]
    assert {"200", "404", "408", "429", "5XX"} <= set(responses)
    assert "409" not in responses  # a cancel is never refused...
    assert "Idempotency-Key" in _resolve(responses["422"])["description"]  # ...its 422 is only a key misused


def _bounds(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema keywords that bound a value, without type and title noise."""
    keys = {"pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"}
    if "anyOf" in schema:  # pydantic's `str | None`
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
    return {k: v for k, v in schema.items() if k in keys}


@pytest.mark.parametrize(("schema", "model"), [("Line", OrderLine), ("Address", ShippingAddress)])
def test_lines_and_address_have_the_order_models_bounds(schema: str, model: type[Any]) -> None:
    ours = model.model_json_schema()["properties"]
    theirs = SCHEMAS[schema]["properties"]
    assert set(theirs) == set(ours)
    assert {name: _bounds(theirs[name]) for name in theirs} == {name: _bounds(ours[name]) for name in ours}
    assert SCHEMAS[schema]["additionalProperties"] is False


def test_ids_and_lists_have_the_order_models_bounds() -> None:
    order = OrderCreated.model_json_schema()["properties"]
    assert SCHEMAS["OrderId"]["pattern"] == ORDER_ID_PATTERN
    assert SCHEMAS["Lines"]["maxItems"] == MAX_LINES
    assert _bounds(SCHEMAS["PrescriptionRequest"]["properties"]["patient_id"]) == _bounds(order["patient_id"])


def test_every_id_the_saga_makes_fits_the_resource_id() -> None:
    longest = "o" * 80  # ORDER_ID_PATTERN allows 80 characters
    pattern = re.compile(SCHEMAS["ResourceId"]["pattern"])
    assert all(pattern.match(make(longest)) for make in (prescription_id, reservation_id, shipment_id))


def test_the_reference_service_serves_the_contracts_paths() -> None:
    served = {op: (method, re.sub(r"<\w+>", "{}", rule)) for op, (method, rule) in ROUTES.items()}
    documented = {op: (method, re.sub(r"\{\w+\}", "{}", path)) for op, (method, path, _) in _operations().items()}
    assert served == documented
