"""The main-thread fallback in Chromium: where no worker can reach the page, the same app runs on the
page's main thread, and waits for the auth service through JSPI (`FetchTransport`), with its timeout,
without freezing the page.

WebKitGTK is the browser that needs it (tests/engines/test_webkit.py); here Chromium is made to offer
what WebKitGTK offers, an isolated page without SharedArrayBuffer, or no isolation and no service
worker at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from harness.browser_pages import store_value, stored_session, stored_value, wait_until_ready
from harness.processes import Stack
from sitebuild.site import build
from tests.support.accounts import PASSWORD, new_username
from tests.support.backend import BACKEND_CALLER, backend_says
from tests.support.browser import WITHOUT_SHARED_MEMORY, Recorder, Workers
from webapp.config import PageConfig

# What webapp.browser.main logs where the page would freeze on every request.
NO_JSPI = "without JSPI"


def main_thread_page(new_page: Callable[[], Page]) -> Page:
    page = new_page()
    page.add_init_script(WITHOUT_SHARED_MEMORY)
    return page


def thread_of(page: Page) -> str:
    return str(page.evaluate("document.documentElement.dataset.pythonThread"))


def test_create_account_then_a_reload_resumes_with_python_on_the_main_thread(
    stack: Stack, new_page: Callable[[], Page], recorder: Recorder
) -> None:
    page = main_thread_page(new_page)
    workers = Workers(page)
    username = new_username()
    page.goto(stack.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-field=user-id]")).to_have_text(username)
    saved = stored_session(page, stack.storage_key)
    recorder.clear()

    page.reload()

    expect(page.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    assert thread_of(page) == "main"
    assert page.evaluate("crossOriginIsolated") is True
    (resume,) = [r for r in recorder.requests if r.url.endswith("/v1/sessions/resume")]
    # Bound to the device key there too: JSPI lets Python wait for WebCrypto.
    assert "session-proof" in resume.headers
    # And the application's backend gets a DPoP proof, signed from the main thread the same way.
    expect(page.locator(BACKEND_CALLER)).to_have_text(backend_says(username, bound=True))
    assert recorder.requests_carrying(PASSWORD) == []
    assert stored_session(page, stack.storage_key)["sessionSecret"] != saved["sessionSecret"]
    assert recorder.foreign_requests(stack.url) == []
    assert recorder.console_errors() == []
    # Chromium has JSPI: no request froze the page.
    assert not [message for message in recorder.console if NO_JSPI in message.text]
    # No worker but the snapshot maker: Python imported pyodide-http here too, without the worker
    # its streaming module would start (webapp.browser.pyodide_http_transport).
    assert [kind for kind in workers.kinds() if kind != "snapshot maker"] == []


def test_a_service_that_never_answers_times_out_while_the_page_stays_live(
    stack: Stack, silent_server: str, new_page: Callable[[], Page], tmp_path: Path
) -> None:
    client = stack.client()
    credentials = {"username": new_username(), "password": PASSWORD}
    client.new_user(credentials)
    session = client.start(credentials)
    dist = build(
        tmp_path / "dist",
        PageConfig(stack.application_key, silent_server + "/v1", request_timeout_s=5),
    )
    with Stack(dist, tmp_path / "data") as hanging:
        page = main_thread_page(new_page)
        page.goto(hanging.url + "/")
        wait_until_ready(page)
        store_value(page, hanging.storage_key, json.dumps(session))
        with page.expect_request(lambda request: request.url.startswith(silent_server)):
            page.reload()

        # Python waits for the answer, and the page still runs scripts: a synchronous XHR would
        # hold the page's thread until an answer that never comes.
        assert page.evaluate("document.documentElement.dataset.view") == "resuming"
        expect(page.get_by_text("Cannot reach the sign-in service")).to_be_visible(timeout=20_000)
        assert thread_of(page) == "main"
        assert json.loads(stored_value(page, hanging.storage_key) or "null") == session


def test_without_isolation_or_a_service_worker_python_starts_on_the_main_thread(
    headerless_stack: Stack, new_context: Callable[..., Callable[[], Page]], recorder: Recorder
) -> None:
    """A header-less host in a browser that refuses service workers (a setting, a private window)."""
    page = new_context(service_workers="block")()
    page.goto(headerless_stack.url + "/")

    wait_until_ready(page)
    expect(page.locator("#app > [data-view=login] form")).to_be_visible()
    assert thread_of(page) == "main"
    assert page.evaluate("crossOriginIsolated") is False
    assert recorder.foreign_requests(headerless_stack.url) == []
