"""Fixtures of the browser tests: a real Chromium and recorded pages (the served stack is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from tests.support.browser import BOOT_TIMEOUT_MS, Recorder

# A first assertion after a navigation waits for Python to boot.
expect.set_options(timeout=BOOT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def new_page(browser: Browser, recorder: Recorder) -> Iterator[Callable[[], Page]]:
    """Opens pages in one fresh browser context: one profile, so its tabs share localStorage."""
    context = browser.new_context()
    context.set_default_timeout(BOOT_TIMEOUT_MS)
    context.on("request", recorder.add_request)

    def open_page() -> Page:
        page = context.new_page()
        page.on("console", recorder.add_console_message)
        page.on("pageerror", recorder.add_page_error)
        return page

    yield open_page
    context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()
