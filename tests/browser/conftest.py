"""Fixtures of the browser tests: the served stack, a real Chromium, recorded pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from sitebuild.browser_pages import BOOT_TIMEOUT_MS
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from sitebuild.paths import DIST
from sitebuild.processes import Stack
from tests.support.browser import Recorder

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


@pytest.fixture(scope="session")
def dist() -> Path:
    if not (DIST / "build.json").exists():
        pytest.exit("dist/ is not built: run the tests with `python3 build.py test`", returncode=2)
    return DIST


@pytest.fixture(scope="session")
def stack(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(dist, tmp_path_factory.mktemp("stack-data")) as running:
        yield running


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def new_page(browser: Browser, recorder: Recorder) -> Iterator[Callable[[], Page]]:
    """Opens pages in one fresh browser context: one profile, so its tabs share localStorage."""
    context = browser.new_context()
    context.set_default_timeout(BOOT_TIMEOUT_MS)
    context.on("request", lambda request: recorder.requests.append(request))

    def open_page() -> Page:
        page = context.new_page()
        page.on("console", lambda message: recorder.console.append(message))
        page.on("pageerror", lambda error: recorder.page_errors.append(str(error)))
        return page

    yield open_page
    context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()
