"""Clicks that lead to another page, waited for: a click returns before the page it leads to is loaded.

Chromium's driver may return from a click on a form's button before the form's POST is even sent, so a
test that reads the next page at once can read the page it left (a CI run read a confirmation page
for the saga page its POST leads to). `follow` waits until the page it left is gone and the new one loaded.
"""

from __future__ import annotations

from typing import Any

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait


def follow(browser: Any, target: str | WebElement, *, timeout: float = 20) -> None:
    """Click `target` (a link or a form's button, or its id) and wait until the page it leads to is loaded.

    The page left is marked (a property of its window, which the next document does not have); while the
    browser navigates, Chromium's driver may answer a question about the old page with an error of its own
    ("Node with given id does not belong to the document", a CI run's): asked again, not taken as an answer."""
    browser.execute_script("window.leftByFollow = true")
    (browser.find_element(By.ID, target) if isinstance(target, str) else target).click()
    wait = WebDriverWait(browser, timeout, poll_frequency=0.05, ignored_exceptions=(WebDriverException,))
    wait.until(
        lambda b: b.execute_script("return window.leftByFollow === undefined && document.readyState === 'complete'")
    )
