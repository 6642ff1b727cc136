"""Fixtures of the browser tests: a real Chromium and recorded pages (the served stack is in
tests/conftest.py).

Every page of every test is also watched for Content-Security-Policy violations (the page's and its
workers'): one fails the test, since a refused script or connection would only show up as a page that
quietly does less.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Worker,
    expect,
    sync_playwright,
)

from sitebuild.browser_pages import BOOT_TIMEOUT_MS
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from tests.support.browser import Recorder

# A first assertion after a navigation waits for Python to boot.
expect.set_options(timeout=BOOT_TIMEOUT_MS)

# Chromium logs a refusal in the console of the page or worker it happened in; the event adds the
# directive for the page's own realm.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""
VIOLATION_MARKS = ("securitypolicyviolation", "Content Security Policy")


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


class Profiles:
    """Fresh browser contexts (each one a browser profile, whose tabs share storage), every page
    of them recorded and watched for Content-Security-Policy violations."""

    def __init__(self, browser: Browser, recorder: Recorder) -> None:
        self.browser = browser
        self.recorder = recorder
        self.contexts: list[BrowserContext] = []
        self.violations: list[str] = []

    def new(self) -> Callable[[], Page]:
        """A new profile: returns the function that opens a tab in it."""
        context = self.browser.new_context()
        self.contexts.append(context)
        context.set_default_timeout(BOOT_TIMEOUT_MS)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("request", self.recorder.add_request)

        def open_page() -> Page:
            page = context.new_page()
            page.on("console", self.recorder.add_console_message)
            page.on("console", lambda message: self.watch(message.text))
            page.on("worker", self.watch_worker)
            page.on("pageerror", self.recorder.add_page_error)
            return page

        return open_page

    def watch(self, message_text: str) -> None:
        if any(mark in message_text for mark in VIOLATION_MARKS):
            self.violations.append(message_text)

    def watch_worker(self, worker: Worker) -> None:
        worker.on("console", lambda message: self.watch(message.text))

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def profiles(browser: Browser, recorder: Recorder) -> Iterator[Profiles]:
    opened = Profiles(browser, recorder)
    yield opened
    opened.close()
    assert opened.violations == [], "the page broke its Content-Security-Policy"


@pytest.fixture
def new_page(profiles: Profiles) -> Callable[[], Page]:
    """Opens pages in one fresh browser context: one profile, so its tabs share localStorage."""
    return profiles.new()


@pytest.fixture
def new_profile(profiles: Profiles) -> Callable[[], Callable[[], Page]]:
    """new_profile() -> the tab opener of another fresh profile (another browser, to the app)."""
    return profiles.new


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()
