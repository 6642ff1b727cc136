"""The app shell: Python boots in a worker from our own files, on hosts with and without the
isolation headers, and a warm reload fetches none of the runtime again."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from harness.browser_pages import store_value, wait_until_ready
from harness.processes import Stack
from tests.support.browser import Recorder

RUNTIME_FILES = ("pyodide.asm.wasm", "python_stdlib.zip", "pyodide.asm.mjs", "/app-")


def signed_in_elsewhere(stack: Stack) -> dict:
    """A session started by the real client in CPython, as if saved on an earlier visit."""
    client = stack.client()
    credentials = {"username": f"shell-{uuid.uuid4().hex[:8]}", "password": "correct horse battery"}
    client.new_user(credentials)
    return client.start(credentials)


def open_with_stored_session(page: Page, stack: Stack, session: dict) -> None:
    page.goto(stack.url + "/")
    # Header-less, the first load installs the service worker and reloads: wait for the app.
    wait_until_ready(page)
    store_value(page, stack.storage_key, json.dumps(session))
    page.reload()


@pytest.mark.parametrize("host", ["isolation headers", "service-worker fallback"])
def test_python_renders_and_calls_the_service_from_our_origin_only(
    host: str, stack: Stack, headerless_stack: Stack, page: Page, recorder: Recorder
) -> None:
    served = stack if host == "isolation headers" else headerless_stack
    session = signed_in_elsewhere(served)

    open_with_stored_session(page, served, session)

    # Only Python draws the signed-in view: Jinja2 rendered it after a resume request through
    # pyodide-http (webapp.browser.pyodide_http_transport).
    page.wait_for_selector("#app > [data-view=signed-in]")
    wait_until_ready(page)
    assert page.locator("[data-field=user-id]").inner_text() == session["userId"]
    assert any(request.url.endswith("/v1/sessions/resume") for request in recorder.requests)
    assert page.evaluate("crossOriginIsolated") is True
    if host == "service-worker fallback":
        assert page.evaluate("navigator.serviceWorker.controller !== null") is True
    assert recorder.foreign_requests(served.url) == []
    assert recorder.console_errors() == []


def test_a_warm_reload_fetches_no_runtime_file_again(stack: Stack, page: Page) -> None:
    page.goto(stack.url + "/")
    wait_until_ready(page)
    first_visit = {name: len(stack.served(name)) for name in RUNTIME_FILES}
    assert all(first_visit.values()), first_visit

    page.reload()
    wait_until_ready(page)

    # Hashed asset names are cached as immutable: the server is not even asked again.
    again = {name: len(stack.served(name)) - first_visit[name] for name in RUNTIME_FILES}
    assert again == {name: 0 for name in RUNTIME_FILES}
    assert len(stack.served('"GET / ')) >= 2, "the page itself is revalidated on every load"


def test_the_page_shows_progress_while_python_loads(stack: Stack, page: Page) -> None:
    page.goto(stack.url + "/", wait_until="domcontentloaded")
    status = page.locator("#python-status")
    # Pyodide needs seconds to boot: long after the document is parsed.
    assert page.evaluate("document.documentElement.dataset.python") == "loading"
    assert status.is_visible()
    assert "Starting Python" in status.inner_text()
    wait_until_ready(page)
    assert not status.is_visible()


def test_what_is_typed_while_python_loads_is_kept_and_the_click_is_queued(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    page.goto(stack.url + "/")
    # The pre-rendered form is usable at once, before Python is ready.
    page.get_by_label("Username").fill("typed-early")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()

    wait_until_ready(page)

    # The queued click was handled once Python was up: a real sign-in attempt, refused.
    page.get_by_text("Wrong username or password.").wait_for()
    assert page.get_by_label("Username").input_value() == "typed-early"
