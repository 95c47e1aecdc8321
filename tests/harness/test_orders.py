"""The order kinds: each is the order the business rules make end the way the kind says."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.orders import SCARCE, STOCKED, UNDELIVERABLE_ADDRESS, UNKNOWN, Kind, of_kind
from harness.seed import DEMO_CATALOGUE, DEMO_STOCK
from lambdas.domain.order import OrderCreated
from lambdas.domain.rules import shipment_refusal


def test_only_an_invalid_order_fails_validation() -> None:
    for kind in Kind:
        detail = of_kind(kind, f"o-{kind}")
        if kind is Kind.INVALID:
            with pytest.raises(ValidationError):
                OrderCreated.model_validate(detail)
        else:
            OrderCreated.model_validate(detail)


def test_the_medications_each_kind_adds_are_what_the_demo_catalogue_and_stock_make_them() -> None:
    assert all(DEMO_STOCK[m] > 0 and m in DEMO_CATALOGUE for m in STOCKED)
    assert SCARCE in DEMO_CATALOGUE
    assert DEMO_STOCK[SCARCE] == 0
    assert UNKNOWN not in DEMO_CATALOGUE
    assert of_kind(Kind.NO_STOCK, "o")["medications"][-1] == SCARCE
    assert of_kind(Kind.UNKNOWN_MED, "o")["medications"][-1] == UNKNOWN


def test_an_undeliverable_order_ships_outside_the_delivery_area() -> None:
    assert of_kind(Kind.UNDELIVERABLE, "o")["shipping_address"] == UNDELIVERABLE_ADDRESS
    order = OrderCreated.model_validate(of_kind(Kind.UNDELIVERABLE, "o"))
    assert shipment_refusal(order.shipping_address) is not None
    assert shipment_refusal(OrderCreated.model_validate(of_kind(Kind.VALID, "o")).shipping_address) is None
