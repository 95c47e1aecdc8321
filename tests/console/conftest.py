"""The console served on a loopback port against the in-process local cloud, and a headless Chromium.

The browser is Debian's chromium driven by its chromium-driver through Selenium (`make test`
installs both when missing). Without them a developer's run skips the browser tests; CI
(`CI` set) fails instead, so a green CI always means the pages were seen in a browser.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.inprocess import InProcess
from saga_console.serve import console_server, running, url_of

CHROMIUM = Path(os.environ.get("SAGA_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SAGA_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = Path(os.environ.get("SAGA_SCREENSHOTS", "screenshots"))
"""Where the browser tests leave their pictures (docs/ holds the committed copies)."""


@pytest.fixture
def console_url(cloud: InProcess) -> Iterator[str]:
    server = console_server(cloud, "127.0.0.1", 0)
    with running(server):
        yield url_of(server)


def chromium(*arguments: str) -> Iterator[Any]:
    """A headless Chromium through chromium-driver, with `arguments` besides the suite's own; quit after use."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = f"no browser: install chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    for argument in arguments:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    yield from chromium()


@pytest.fixture
def screenshot(browser: Any) -> Callable[[str], Path]:
    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take
