"""The chaos runs' order plan: each kind of order is what its name says to the business rules that decide it."""

from __future__ import annotations

import random

import pytest

from harness.chaos.run import plan_orders
from harness.orders import Kind
from lambdas.domain.order import OrderCreated
from lambdas.domain.rules import CatalogueEntry, prescription_refusal
from pharmacy_reference.catalogue import CATALOGUE

PASS_THE_CATALOGUE = (Kind.VALID, Kind.NO_STOCK, Kind.UNDELIVERABLE)
"""A valid order completes; a no-stock one must fail at the reservation and an undeliverable one at the
shipment, so none may be refused at the prescription first."""


@pytest.mark.parametrize("seed", [7, 11])
def test_no_planned_order_but_an_unknown_medication_is_refused_by_the_catalogue(seed: int) -> None:
    # Given the catalogue the HTTP run's pharmacy applies (the demo's per-prescription maxima)
    catalogue: dict[str, CatalogueEntry] = dict(CATALOGUE)
    # When a chaos run plans its orders
    orders = plan_orders(1000, random.Random(seed), run_id="plan")
    # Then the prescription rule refuses none of the kinds that must get past it
    refused = [
        (o.order_id, o.kind.value, reason)
        for o in orders
        if o.kind in PASS_THE_CATALOGUE
        and (reason := prescription_refusal(OrderCreated.model_validate(o.detail).medications, catalogue))
    ]
    assert refused == []
    assert {o.kind for o in orders} >= set(PASS_THE_CATALOGUE)
