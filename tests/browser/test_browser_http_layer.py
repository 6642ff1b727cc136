"""The worker's HTTP layer: the app's requests to the auth service go through pyodide-http's sender
(webapp.browser.pyodide_http_transport), with the client's timeout, and loading the page starts no
worker but PyScript's and the snapshot maker: none of pyodide-http's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Request, expect

from authclient import DEFAULT_TIMEOUT_S
from harness.browser_pages import wait_until_ready
from harness.processes import Stack
from tests.support.accounts import new_username
from tests.support.browser import Recorder, Workers, create_account
from tests.support.builds import site_with_entry
from webapp.config import DEFAULT_BACKEND_URL

MARK = "pyodide-http sends"
# static/main.py, with a watch on pyodide-http's sender: each call leaves a mark on the worker's
# performance timeline (the request's method, URL and timeout in seconds), then sends as usual.
WATCHED_ENTRY = f"""
import js

# Puts its stand-in for pyodide-http's streaming module in place before `_core` is imported.
from webapp.browser import pyodide_http_transport
from pyodide_http import _core

send = _core.send


def watched_send(request, *args, **kwargs):
    js.performance.mark(" ".join([{MARK!r}, request.method, request.url, str(request.timeout)]))
    return send(request, *args, **kwargs)


_core.send = watched_send

from webapp.browser.main import main

app = main()
"""
# The entry script as it would be if something imported pyodide-http's `_core` before the app's
# transport did: its own streaming module, which starts a worker on an isolated page.
EARLY_IMPORT_ENTRY = """
from pyodide_http import _core
from webapp.browser.main import main

app = main()
"""
READ_MARKS = """(prefix) => performance.getEntriesByType("mark")
  .map((mark) => mark.name)
  .filter((name) => name.startsWith(prefix))"""


def snapshot_outcome(page: Page) -> str:
    """What the page's snapshot maker did once Python was ready: "made", "present", ..."""
    page.wait_for_selector("html[data-pyodide-snapshot]", state="attached")
    return str(page.evaluate("document.documentElement.dataset.pyodideSnapshot"))


def sends_through_pyodide_http(page: Page) -> list[str]:
    """The calls of pyodide-http's sender that the watched entry marked, as "METHOD URL TIMEOUT"."""
    for worker in page.workers:
        marks = worker.evaluate(READ_MARKS, MARK + " ")
        if marks:
            return sorted(mark.removeprefix(MARK + " ") for mark in marks)
    return []


def test_a_page_load_starts_no_worker_but_pyscripts_and_the_snapshot_maker(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    workers = Workers(page)
    page.goto(stack.url + "/")
    wait_until_ready(page)
    create_account(page, new_username())

    # The snapshot maker imports the app's transport too (webapp.preload), in a worker of its own.
    assert snapshot_outcome(page) == "made"
    assert workers.kinds() == ["blob", "snapshot maker"]

    workers.clear()
    page.reload()
    expect(page.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    # Started from the snapshot, which holds pyodide-http imported with the stand-in.
    assert snapshot_outcome(page) == "present"
    assert workers.kinds() == ["blob"]
    assert recorder.console_errors() == []


def test_the_worker_count_sees_the_worker_that_pyodide_https_own_streaming_module_starts(
    dist: Path, tmp_path: Path, new_page: Callable[[], Page]
) -> None:
    """What the stand-in spares every page load; and so the count above can fail."""
    with Stack(site_with_entry(dist, tmp_path, EARLY_IMPORT_ENTRY), tmp_path / "data") as early:
        page = new_page()
        workers = Workers(page)
        page.goto(early.url + "/")
        wait_until_ready(page)

        # PyScript's worker, and the one pyodide-http started from it as Python imported it.
        for _ in range(50):
            if workers.kinds().count("blob") > 1:
                break
            page.wait_for_timeout(100)
        assert workers.kinds().count("blob") == 2


def test_the_workers_requests_to_the_service_go_through_pyodide_http_with_the_clients_timeout(
    dist: Path, tmp_path: Path, new_page: Callable[[], Page], recorder: Recorder
) -> None:
    with Stack(site_with_entry(dist, tmp_path, WATCHED_ENTRY), tmp_path / "data") as watched:
        page = new_page()
        requests: list[Request] = []
        page.on("request", lambda request: requests.append(request))
        page.goto(watched.url + "/")
        wait_until_ready(page)
        create_account(page, new_username())
        page.get_by_role("button", name="Sign out", exact=True).click()
        page.locator("#app > [data-view=login]").wait_for()
        assert page.evaluate("document.documentElement.dataset.pythonThread") == "worker"

        def from_python(resource_type: str) -> list[str]:
            """What the app asked of the service, and of the application's backend beside it."""
            return sorted(
                f"{request.method} {request.url}"
                for request in requests
                if request.url.startswith((watched.url + "/v1/", watched.url + DEFAULT_BACKEND_URL))
                and request.resource_type == resource_type
            )

        sent = sends_through_pyodide_http(page)
        expected = [f"{call} {DEFAULT_TIMEOUT_S}" for call in from_python("xhr")]
        assert sent == expected
        paths = {call.split()[1].removeprefix(watched.url) for call in sent}
        assert {"/v1/users", "/v1/sessions", "/v1/sessions/current"} <= paths
        # The message stream is the one request read with fetch() (webapp.browser.fetch_stream).
        assert {call.split()[1].partition("?")[0] for call in from_python("fetch")} == {
            watched.url + "/v1/messages/stream"
        }
        assert recorder.console_errors() == []
