"""Fixtures of the browser tests: a real Chromium and recorded pages (the served stack is in
tests/conftest.py).

Every page of every test is also watched for Content-Security-Policy violations (the page's and its
workers'): one fails the test, since a refused script or connection would only show up as a page that
quietly does less. And every request it makes must stay on this machine, where the tests serve the site
and the auth service: a request anywhere else is a CDN the page should not know (PyScript falls back to
one for its interpreter when it is not given ours), and fails the test.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Worker,
    expect,
    sync_playwright,
)

from harness.browser_pages import BOOT_TIMEOUT_MS
from harness.processes import Stack
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
# Where the tests serve the site, its copies and the auth service.
THIS_MACHINE = ("127.0.0.1", "localhost", "::1")
# URLs made in the page itself (a worker's blob:, a data: favicon): no request leaves the browser.
IN_PAGE_SCHEMES = ("blob", "data")


def leaves_this_machine(url: str) -> bool:
    """
    >>> leaves_this_machine("https://cdn.example/pyodide.mjs"), leaves_this_machine("http://127.0.0.1:8000/")
    (True, False)
    """
    parts = urllib.parse.urlsplit(url)
    return parts.scheme not in IN_PAGE_SCHEMES and parts.hostname not in THIS_MACHINE


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
def new_context(
    browser: Browser, recorder: Recorder
) -> Iterator[Callable[..., Callable[[], Page]]]:
    """Opens fresh browser contexts (a profile each; keyword options as Playwright's `new_context`
    takes them) and gives, for each, a function that opens a page in it, recorded and watched."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []
    # Kept apart from the recorder, which tests clear.
    elsewhere: list[str] = []

    def watch_request(request: Request) -> None:
        if leaves_this_machine(request.url):
            elsewhere.append(request.url)

    def watch(message_text: str) -> None:
        if any(mark in message_text for mark in VIOLATION_MARKS):
            violations.append(message_text)

    def watch_worker(worker: Worker) -> None:
        worker.on("console", lambda message: watch(message.text))

    def open_context(**options: Any) -> Callable[[], Page]:
        context = browser.new_context(**options)
        contexts.append(context)
        context.set_default_timeout(BOOT_TIMEOUT_MS)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("request", recorder.add_request)
        context.on("request", watch_request)

        def open_page() -> Page:
            page = context.new_page()
            page.on("console", recorder.add_console_message)
            page.on("console", lambda message: watch(message.text))
            page.on("worker", watch_worker)
            page.on("pageerror", recorder.add_page_error)
            return page

        return open_page

    yield open_context
    for context in contexts:
        context.close()
    assert violations == [], "the page broke its Content-Security-Policy"
    assert elsewhere == [], "the page sent requests off this machine"


@pytest.fixture
def new_page(new_context: Callable[..., Callable[[], Page]]) -> Callable[[], Page]:
    """Opens pages in one fresh browser context: one profile, so its tabs share localStorage."""
    return new_context()


@pytest.fixture(scope="module")
def headerless_stack(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same site from a server that sends no COOP/COEP headers, as a plain static host."""
    with Stack(dist, tmp_path_factory.mktemp("headerless-data"), isolation=False) as running:
        yield running


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()
