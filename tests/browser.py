"""The browser tests' shared parts: headless Chromium (Debian's, driven by Playwright), a page per test
that fails on any uncaught page error and leaves a full-page screenshot, and reading what the page
drew through ``window.trackioDashboard.state()``.

The fixtures ``browser`` (one Chromium per test module) and ``page`` are registered in conftest.py.
Screenshots go to ``$TRACKIO_TEST_ARTIFACTS`` (default ``.artifacts/``, not committed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("TRACKIO_TEST_ARTIFACTS", Path(__file__).parent.parent / ".artifacts"))
VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


def new_context(browser: Browser, scale: float = 1) -> BrowserContext:
    """A context as a person's browser has it: downloads accepted, the clipboard usable."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=scale, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    return context


@pytest.fixture(name="page")
def page_fixture(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = new_context(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    shot(page, request.node.name)
    context.close()
    assert not errors, errors


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def state(page: Page) -> dict[str, Any]:
    return page.evaluate("window.trackioDashboard.state()")


def open_dashboard(page: Page, url: str) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_selector("body[data-state=ready]", timeout=30_000)
    return state(page)


def wait_for(page: Page, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = state(page)
        if predicate(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never got there; it shows: {current}")
        time.sleep(0.1)
