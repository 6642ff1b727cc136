"""Save and resume the session in a real browser: the seed's flows, end to end.

The app's decisions (every kind of stored garbage, rejections, retries, stale clicks, tabs) are
tested in CPython (tests/webapp); these tests prove what only the real page shows: localStorage,
the worker's HTTP, storage events between tabs, a clean console."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from authclient import SessionClient, errors
from harness.browser_pages import store_value, stored_session, stored_value, wait_until_ready
from harness.processes import AuthServiceProcess, Stack
from sitebuild.site import build
from tests.support.accounts import CLICK_RETRY_IF_SHOWN, GARBAGE, PASSWORD, new_username
from tests.support.browser import Recorder, create_account, login_form, new_account
from webapp.config import PageConfig


def client_for(stack: Stack, session: dict | None = None) -> SessionClient:
    """The real client in CPython, holding `session` as if it had saved it."""
    client = stack.client()
    if session is not None:
        client.storage.set_item(client.storage_key, json.dumps(session))
    return client


def test_create_account_saves_the_session_and_a_reload_resumes_it_without_the_password(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    username = new_username()
    page.goto(stack.url + "/")
    create_account(page, username)

    expect(page.locator("[data-field=user-id]")).to_have_text(username)
    expect(page.locator("[data-field=origin]")).to_have_text("Started just now")
    saved = stored_session(page, stack.storage_key)
    assert saved is not None and saved["userId"] == username
    assert saved["applicationKey"] == stack.application_key

    recorder.clear()
    page.reload()

    expect(page.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    expect(page.locator("[data-field=user-id]")).to_have_text(username)
    assert login_form(page).count() == 0
    assert recorder.requests_carrying(PASSWORD) == []
    # The resume rotated the secret, and the page saved the new one at once.
    resumed = stored_session(page, stack.storage_key)
    assert resumed["sessionId"] == saved["sessionId"]
    assert resumed["sessionSecret"] != saved["sessionSecret"]
    assert recorder.foreign_requests(stack.url) == []
    assert recorder.console_errors() == []


# The CPython tests (tests/webapp) try every kind of garbage; here, that the real page copes too.
SOME_GARBAGE = {shape: GARBAGE[shape] for shape in ("not JSON", "markup")}


@pytest.mark.parametrize("shape", SOME_GARBAGE)
def test_garbage_in_storage_gives_the_login_form_and_no_console_error(
    shape: str, stack: Stack, page: Page, recorder: Recorder
) -> None:
    page.goto(stack.url + "/")
    store_value(page, stack.storage_key, SOME_GARBAGE[shape])
    page.reload()
    wait_until_ready(page)

    expect(login_form(page)).to_be_visible()
    expect(page.locator("#app > [data-view=resuming]")).to_be_hidden()
    assert stored_value(page, stack.storage_key) is None
    assert page.title() == "Sign in"
    assert recorder.console_errors() == []


def test_a_password_the_service_refuses_is_explained_in_the_page_in_its_own_words(
    stack: Stack, page: Page
) -> None:
    common = {"username": new_username(), "password": "password1234"}
    with pytest.raises(errors.InvalidRequest) as refused:
        client_for(stack).new_user(common)
    page.goto(stack.url + "/")

    page.get_by_label("Username").fill(common["username"])
    page.get_by_label("Password").fill(common["password"])
    page.get_by_role("button", name="Create account").click()

    # A sentence for a person, as the service wrote it (no field path, no validator wording),
    # beside the field it is about, tied to it, and focused so that it is read out.
    password = page.get_by_label("Password", exact=True)
    expect(page.locator("#password-error")).to_have_text(refused.value.message)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile(re.escape(refused.value.message)))
    expect(password).to_be_focused()
    assert refused.value.message.startswith("This password is one of the most common passwords")
    assert stored_value(page, stack.storage_key) is None


def test_signing_out_in_one_tab_shows_the_login_form_in_the_other(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    first = new_page()
    first.goto(stack.url + "/")
    username = new_username()
    create_account(first, username)
    second = new_page()
    second.goto(stack.url + "/")
    expect(second.locator("[data-field=user-id]")).to_have_text(username)

    second.get_by_role("button", name="Sign out", exact=True).click()

    expect(first.get_by_text("You signed out in another tab.")).to_be_visible()
    expect(login_form(first)).to_be_visible()


def account_saved_then_service_stopped(
    stack: Stack, auth: AuthServiceProcess, new_page: Callable[[], Page]
) -> tuple[str, str | None]:
    """An account made in the page, its session saved; then the service stops. Its username and
    the stored value."""
    page = new_page()
    page.goto(stack.url + "/")
    username = new_username()
    create_account(page, username)
    saved = stored_value(page, stack.storage_key)
    page.close()
    auth.stop()
    return username, saved


def test_an_unreachable_service_keeps_the_session_and_it_resumes_once_the_service_is_back(
    split_stack: tuple[Stack, AuthServiceProcess], new_page: Callable[[], Page]
) -> None:
    stack, auth = split_stack
    username, saved = account_saved_then_service_stopped(stack, auth, new_page)

    page = new_page()
    page.goto(stack.url + "/")

    expect(page.get_by_text("Cannot reach the sign-in service")).to_be_visible()
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert stored_value(page, stack.storage_key) == saved

    auth.start()
    page.evaluate(CLICK_RETRY_IF_SHOWN)

    expect(page.locator("[data-field=user-id]")).to_have_text(username)
    expect(page.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    assert (
        stored_session(page, stack.storage_key)["sessionSecret"]
        != json.loads(saved)["sessionSecret"]
    )


# Tells the page it went out of view, or came back, as the browser does (headless, a tab stays visible).
SET_VISIBILITY = """state => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_coming_back_into_view_retries_at_once_and_going_out_of_view_does_not(
    split_stack: tuple[Stack, AuthServiceProcess], new_page: Callable[[], Page]
) -> None:
    stack, auth = split_stack
    account_saved_then_service_stopped(stack, auth, new_page)

    page = new_page()
    page.goto(stack.url + "/")
    # Three retries of its own have failed (2, 4 and 8 s apart): the next is 16 s away.
    expect(page.get_by_text("Trying again in 16 s.")).to_be_visible(timeout=30_000)
    auth.start()
    resumes: list[str] = []
    page.on(
        "request", lambda request: resumes.append(request.url) if "/resume" in request.url else None
    )

    page.evaluate(SET_VISIBILITY, "hidden")
    page.wait_for_timeout(500)
    assert resumes == []
    expect(page.get_by_text("Trying again in 16 s.")).to_be_visible()

    page.evaluate(SET_VISIBILITY, "visible")
    # Well before the app's own retry would come.
    expect(page.locator("[data-field=origin]")).to_have_text(
        "Resumed from your last visit", timeout=8_000
    )
    assert len(resumes) == 1


def test_a_service_that_never_answers_times_out_and_keeps_the_session(
    stack: Stack, silent_server: str, new_page: Callable[[], Page], tmp_path: Path
) -> None:
    """pyodide-http's synchronous XHR, in the worker, with the client's timeout: the page stays
    live."""
    session = client_for(stack).start(new_account(stack))
    dist = build(
        tmp_path / "dist",
        PageConfig(stack.application_key, silent_server + "/v1", request_timeout_s=2),
    )
    with Stack(dist, tmp_path / "data") as hanging:
        page = new_page()
        page.goto(hanging.url + "/")
        wait_until_ready(page)
        store_value(page, hanging.storage_key, json.dumps(session))
        page.reload()

        expect(page.get_by_text("Cannot reach the sign-in service")).to_be_visible(timeout=20_000)
        assert json.loads(stored_value(page, hanging.storage_key)) == session
