"""The saga page of a saga whose steps call the pharmacy: each state's system and answers, as a person sees them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from harness.inprocess import InProcess
from harness.pharmacy_api import deployed_over_http
from pharmacy_reference.faults import Faults
from pharmacy_reference.server import Served
from tests.e2e.helpers import order


@pytest.fixture(scope="module")
def over_http() -> Iterator[tuple[InProcess, Served]]:
    with deployed_over_http(steps="prescriptions,shipments") as deployed:
        yield deployed


@pytest.fixture
def cloud(over_http: tuple[InProcess, Served]) -> InProcess:
    """Overrides the suite's: this module's stack calls the reference pharmacy (inventory stays built in)."""
    return over_http[0]


def _rows(browser: Any) -> dict[str, list[str]]:
    """The execution table as shown: state name -> the text of its cells."""
    rows = browser.find_elements(By.CSS_SELECTOR, "#states tbody tr")
    cells = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return {texts[0]: texts for texts in cells if texts}


def _header(browser: Any) -> list[str]:
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#states thead th")]


def test_each_state_shows_the_system_it_acted_on_and_what_each_call_answered(
    over_http: tuple[InProcess, Served], browser: Any, console_url: str
) -> None:
    cloud, reference = over_http
    reference.plan.change(Faults(unavailable_first=2))  # each request key answered 503 twice, then served
    cloud.put_order(order("web-over-http", "med-1"))
    assert cloud.wait_for_sagas(["web-over-http"])["web-over-http"] == "COMPLETED"

    browser.get(console_url + "sagas/web-over-http")
    header, rows = _header(browser), _rows(browser)
    system, attempts = header.index("system"), header.index("attempts")
    host = reference.url.removeprefix("http://")
    assert rows["Create Prescription"][system] == f"HTTP {host}: 503, 503, 201"
    assert rows["Create Prescription"][attempts] == "3"
    assert rows["Reserve Inventory"][system] == "built-in tables", "inventory is not configured for HTTP"
    assert rows["Reserve Inventory"][attempts] == "1"
    assert rows["Initiate Shipment"][system] == f"HTTP {host}: 503, 503, 201"
