"""The boot check (static/boot.mjs): Python starts in a worker or on the page's main thread, as the
browser allows; when it cannot start, one sentence replaces "Starting Python…", the click queued
meanwhile is let go and the form is disabled, and no request leaves our origin, whatever broke.
The page's inline script loads boot.mjs once the page has painted, or at once where it cannot know."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from harness.browser_pages import wait_until_ready
from harness.processes import Stack
from sitebuild.site import build
from tests.support.accounts import PASSWORD
from tests.support.browser import WITHOUT_SHARED_MEMORY, Recorder
from tests.support.builds import site_with_app_module, site_with_entry, site_without
from webapp.config import PageConfig

STATUS = "#python-status"
APPLICATION_KEY = "app_boot_test"


RAISE = 'raise RuntimeError("broken on purpose")\n'


@pytest.fixture(scope="module")
def raising_entry_stack(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The site with a Python entry script (static/main.py) that itself raises."""
    folder = tmp_path_factory.mktemp("raising-entry")
    with Stack(site_with_entry(dist, folder, RAISE), folder / "data") as stack:
        yield stack


@pytest.fixture(scope="module")
def raising_app_stack(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The site with an app that raises as it is imported, before it is ready."""
    folder = tmp_path_factory.mktemp("raising-app")
    site = site_with_app_module(dist, folder, "webapp/browser/main.py", RAISE)
    with Stack(site, folder / "data") as stack:
        yield stack


def open_page(new_page: Callable[[], Page], thread: str) -> Page:
    page = new_page()
    if thread == "main":
        page.add_init_script(WITHOUT_SHARED_MEMORY)
    return page


def open_and_click_sign_in_before_python_is_ready(page: Page, url: str) -> None:
    # Python's start is held back (the page's boot module waits) until the click is made: on the
    # main thread, Python may otherwise take the page's thread before the form can be used.
    boot_module = "**/assets/boot-*.mjs"
    held: list[Route] = []
    page.route(boot_module, lambda route: held.append(route))
    page.goto(url, wait_until="commit")
    page.get_by_label("Username").fill("early")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.evaluate("document.documentElement.dataset.python") == "loading"
    while not held:
        page.wait_for_timeout(10)
    for route in held:
        route.continue_()
    page.unroute(boot_module)


def assert_the_page_gave_up_in_a_sentence(page: Page, failure: str, sentence: str) -> None:
    page.wait_for_selector("html[data-python=failed]", state="attached")
    assert page.evaluate("document.documentElement.dataset.pythonFailure") == failure
    status = page.locator(STATUS)
    expect(status).to_have_text(sentence)
    expect(status.locator(".spinner")).to_have_count(0)
    # The queued click is let go: no form waits for an answer that will not come.
    expect(page.locator("form[aria-busy]")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    expect(page.get_by_label("Username")).to_be_disabled()


@pytest.mark.parametrize(
    ("broken", "thread", "sentence"),
    [
        # The entry script cannot say what went wrong: it did not run to its `except`.
        ("entry", "worker", "The app could not start: its Python code stopped with an error."),
        (
            "app",
            "worker",
            "The app could not start: its Python code stopped with an error (RuntimeError).",
        ),
        (
            "app",
            "main",
            "The app could not start: its Python code stopped with an error (RuntimeError).",
        ),
    ],
)
def test_an_error_in_python_before_the_app_is_ready_is_a_sentence_not_a_spinner(
    broken: str,
    thread: str,
    sentence: str,
    request: pytest.FixtureRequest,
    new_page: Callable[[], Page],
    recorder: Recorder,
) -> None:
    stack: Stack = request.getfixturevalue(f"raising_{broken}_stack")
    page = open_page(new_page, thread)
    open_and_click_sign_in_before_python_is_ready(page, stack.url + "/")

    assert_the_page_gave_up_in_a_sentence(
        page, "python-error", f"{sentence} Reload the page to try again."
    )
    assert page.evaluate("document.documentElement.dataset.pythonThread") == thread
    # The details are for developers, in the console.
    assert any("broken on purpose" in error for error in recorder.console_errors())
    assert recorder.foreign_requests(stack.url) == []


@pytest.mark.parametrize("missing", ["app-*.zip", "main-*.py", "pyodide-*/pyodide.mjs"])
def test_a_part_of_the_app_that_does_not_load_is_a_sentence_and_nothing_is_fetched_elsewhere(
    missing: str, dist: Path, tmp_path: Path, new_page: Callable[[], Page], recorder: Recorder
) -> None:
    """Before PyScript was given its configuration inline, a failure while it set up the worker made
    it fall back to an interpreter from its default CDN."""
    with Stack(site_without(dist, tmp_path, missing), tmp_path / "data") as stack:
        page = new_page()
        # Some of these fail before a user could click anything.
        page.goto(stack.url + "/")

        assert_the_page_gave_up_in_a_sentence(
            page,
            "not-loaded",
            "The app could not start: a part of it did not load. "
            "Check your connection, then reload the page.",
        )
        assert recorder.foreign_requests(stack.url) == []


def test_a_start_slower_than_the_limit_says_so_and_gives_the_form_back_once_python_is_ready(
    tmp_path: Path, new_page: Callable[[], Page], recorder: Recorder
) -> None:
    # No first visit starts Pyodide in half a second: there is no snapshot yet.
    dist = build(tmp_path / "dist", PageConfig(APPLICATION_KEY, start_timeout_s=0.5))
    with Stack(dist, tmp_path / "data") as stack:
        page = new_page()
        page.goto(stack.url + "/")

        assert_the_page_gave_up_in_a_sentence(
            page,
            "too-slow",
            "Python has not started after 0.5 seconds. Reload the page to try again.",
        )

        page.wait_for_selector("html[data-python=ready]", state="attached")
        expect(page.locator(STATUS)).to_be_hidden()
        expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
        page.get_by_label("Username").fill("late")
        page.get_by_label("Password").fill("wrong password!")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()


def test_a_browser_without_webassembly_is_told_so(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    page.add_init_script("delete globalThis.WebAssembly;")
    page.goto(stack.url + "/")

    assert_the_page_gave_up_in_a_sentence(
        page,
        "no-webassembly",
        "This browser cannot run the app: it has no WebAssembly, or it is turned off. "
        "Try another browser.",
    )


def test_reloads_while_python_starts_fetch_nothing_from_another_origin(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    """A reload aborts the start at whatever step it has reached."""
    for delay_ms in (0, 150, 400, 800, 1500):
        page.goto(stack.url + "/", wait_until="commit")
        page.wait_for_timeout(delay_ms)
    page.reload()

    wait_until_ready(page)
    assert recorder.foreign_requests(stack.url) == []
    assert page.evaluate("document.documentElement.dataset.pythonThread") == "worker"


# When the page asked for its modules, and when they (each on its own) began to load.
READ_MODULE_TIMES = """() => {
  const modules = JSON.parse(document.getElementById("app-modules").textContent);
  const started = [modules.boot, ...modules.preload].map(
    (url) => performance.getEntriesByName(new URL(url, location.href).href)[0].startTime
  );
  const [navigation] = performance.getEntriesByType("navigation");
  return {
    requested: performance.getEntriesByName("page:modules requested")[0].startTime,
    started,
    painted: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
    parsed: navigation.domContentLoadedEventEnd,
  };
}"""


def test_the_page_paints_its_view_before_it_loads_its_modules(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    """Compiled as the page made its first frame, PyScript's modules held that frame back."""
    page = new_page()
    page.goto(stack.url + "/")
    wait_until_ready(page)

    times = page.evaluate(READ_MODULE_TIMES)
    assert times["painted"] is not None
    assert times["requested"] > times["painted"]
    assert min(times["started"]) >= times["requested"]


# A page opened in the background paints nothing until it is shown; a browser without paint timing
# cannot say when it has painted.
HIDDEN = 'Object.defineProperty(Document.prototype, "visibilityState", { get: () => "hidden" });'
NO_PAINT_TIMING = """Object.defineProperty(PerformanceObserver, "supportedEntryTypes", {
  get: () => ["mark", "measure", "navigation", "resource"],
});"""
# A browser that has paint timing, and yet does not report this page's paint.
PAINT_NOT_REPORTED = """{
  const observe = PerformanceObserver.prototype.observe;
  PerformanceObserver.prototype.observe = function (options) {
    if (options?.type !== "paint") observe.call(this, options);
  };
}"""


@pytest.mark.parametrize(
    "browser_side", [HIDDEN, NO_PAINT_TIMING], ids=["hidden", "no-paint-timing"]
)
def test_a_page_that_will_not_learn_of_its_paint_loads_its_modules_once_parsed(
    browser_side: str, stack: Stack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    page.add_init_script(browser_side)
    page.goto(stack.url + "/")
    wait_until_ready(page)

    times = page.evaluate(READ_MODULE_TIMES)
    # Asked for as the document was parsed (DOMContentLoaded), without waiting for anything else.
    assert times["requested"] <= times["parsed"]


def test_a_paint_that_is_never_reported_delays_python_by_a_second_not_for_good(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    page.add_init_script(PAINT_NOT_REPORTED)
    page.goto(stack.url + "/")
    wait_until_ready(page)

    assert page.evaluate(READ_MODULE_TIMES)["requested"] >= 1000
