"""The seed's flows in Firefox (Debian's firefox-esr over WebDriver BiDi): the app as served works
there as it does in Chromium, from our origin only, with a clean console (its workers' included)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from authclient import pending_revocations_key
from harness.firefox import FirefoxContext, FirefoxPage
from harness.processes import AuthServiceProcess, Stack
from harness.python_start import PythonDidNotStart
from tests.support.accounts import CLICK_RETRY_IF_SHOWN, GARBAGE, PASSWORD, new_username
from tests.support.backend import (
    ASK_TOKEN,
    BACKEND_CALLER,
    CALL_BACKEND_FROM_SCRIPT,
    WHOAMI,
    backend_says,
    claims,
)
from tests.support.builds import site_with_app_module

LOGIN_FORM = "#app > [data-view=login] form"
SIGNED_IN = "#app > [data-view=signed-in]"


def create_account(page: FirefoxPage, username: str) -> None:
    page.fill("Username", username)
    page.fill("Password", PASSWORD)
    page.click_button("Create account")
    page.wait_for(SIGNED_IN)


def stored_session(page: FirefoxPage, stack: Stack) -> dict | None:
    raw = page.read_storage(stack.storage_key)
    return json.loads(raw) if raw is not None else None


def open_with_stored_value(page: FirefoxPage, stack: Stack, value: str) -> None:
    """Open the app with `value` already under the storage key, written from another page of our
    origin: a reload of the app while it boots would make Firefox report the aborted boot's errors.
    That page is the site's plain-text 404: API answers are downloads (Content-Disposition), not pages."""
    page.goto(stack.url + "/no-such-page")
    page.write_storage(stack.storage_key, value)
    page.goto(stack.url + "/")


def test_a_first_visit_shows_the_login_form_from_our_origin_only(
    stack: Stack, firefox_page: FirefoxPage, firefox_context: FirefoxContext
) -> None:
    firefox_page.goto(stack.url + "/")
    firefox_page.wait_until_ready()

    firefox_page.wait_for(LOGIN_FORM)
    assert firefox_page.evaluate("() => document.title") == "Sign in"
    # Firefox isolates the page and gives the Python worker its shared memory.
    assert firefox_page.evaluate("() => [crossOriginIsolated, typeof SharedArrayBuffer]") == [
        True,
        "function",
    ]
    records = firefox_context.take_records()
    assert records.requests_to("/assets/app-"), "the driver sees the worker's requests"
    assert records.foreign_requests(stack.url) == []
    assert records.console_errors() == []


def test_create_account_saves_the_session_and_a_reload_resumes_it_without_the_password(
    stack: Stack, firefox_page: FirefoxPage, firefox_context: FirefoxContext
) -> None:
    username = new_username()
    firefox_page.goto(stack.url + "/")
    create_account(firefox_page, username)

    assert firefox_page.text_of("[data-field=user-id]") == username
    assert firefox_page.text_of("[data-field=origin]") == "Started just now"
    saved = stored_session(firefox_page, stack)
    assert saved is not None and saved["userId"] == username
    firefox_context.clear_records()

    firefox_page.reload()

    firefox_page.wait_for_text("Resumed from your last visit")
    assert firefox_page.text_of("[data-field=user-id]") == username
    assert firefox_page.count(LOGIN_FORM) == 0
    records = firefox_context.take_records()
    assert records.requests_to("/v1/sessions/resume"), "the worker's resume request is seen"
    assert records.requests_carrying(PASSWORD) == []
    resumed = stored_session(firefox_page, stack)
    assert resumed["sessionId"] == saved["sessionId"]
    assert resumed["sessionSecret"] != saved["sessionSecret"]
    assert records.foreign_requests(stack.url) == []
    assert records.console_errors() == []


def signed_out(stack: Stack, session_id: str) -> bool:
    events = [json.loads(line) for line in stack.output.splitlines() if line.startswith("{")]
    return any(e["event"] == "sign_out" and e["session"] == session_id for e in events)


def test_sign_out_clears_storage_and_the_server_revokes_the_session(
    stack: Stack, firefox_page: FirefoxPage
) -> None:
    firefox_page.goto(stack.url + "/")
    create_account(firefox_page, new_username())
    session = stored_session(firefox_page, stack)

    firefox_page.click_button("Sign out")

    firefox_page.wait_for_text("You have signed out.")
    assert firefox_page.read_storage(stack.storage_key) is None
    # The form comes first (offline first); the sign-out waits in storage until the service is told.
    waiting = pending_revocations_key(stack.storage_key)
    deadline = time.monotonic() + 30
    while firefox_page.read_storage(waiting) is not None:
        assert time.monotonic() < deadline, "the service was never told of the sign-out"
        time.sleep(0.1)
    # The session is bound to this Firefox profile's key, so only the service's own record can
    # show it was revoked: its audit line (the dev stack prints them).
    assert signed_out(stack, session["sessionId"])
    firefox_page.reload()
    firefox_page.wait_until_ready()
    firefox_page.wait_for(LOGIN_FORM)


def test_the_page_calls_its_backend_with_a_dpop_token_and_its_scripts_get_none_once_signed_out(
    stack: Stack, firefox_page: FirefoxPage, firefox_context: FirefoxContext
) -> None:
    """Firefox's worker asks the page's WebCrypto key for the DPoP proof, as for Session-Proofs."""
    username = new_username()
    firefox_page.goto(stack.url + "/")
    create_account(firefox_page, username)

    assert firefox_page.text_of(BACKEND_CALLER) == backend_says(username, bound=True)
    called = firefox_page.evaluate(CALL_BACKEND_FROM_SCRIPT, stack.url + WHOAMI)
    assert called["status"] == 200, called
    assert called["body"]["userId"] == username and called["body"]["boundToDevice"] is True
    assert "jkt" in claims(called["token"])["cnf"]

    firefox_page.click_button("Sign out")
    firefox_page.wait_for_text("You have signed out.")

    assert firefox_page.evaluate(ASK_TOKEN) is None
    records = firefox_context.take_records()
    assert records.foreign_requests(stack.url) == []
    assert records.console_errors() == []


# The parsing is the same Python in every engine (all shapes run in Chromium); these cover a parse
# error, a valid JSON of the wrong shape, and markup that must stay text.
@pytest.mark.parametrize("shape", ["not JSON", "wrong types", "markup"])
def test_garbage_in_storage_gives_the_login_form_and_no_console_error(
    shape: str, stack: Stack, firefox_page: FirefoxPage, firefox_context: FirefoxContext
) -> None:
    open_with_stored_value(firefox_page, stack, GARBAGE[shape])
    firefox_page.wait_until_ready()

    firefox_page.wait_for(LOGIN_FORM)
    firefox_page.wait_for("#app > [data-view=resuming]", "hidden")
    assert firefox_page.read_storage(stack.storage_key) is None
    assert firefox_page.evaluate("() => document.title") == "Sign in"
    assert firefox_context.take_records().console_errors() == []


def test_an_unreachable_service_keeps_the_session_and_it_resumes_once_the_service_is_back(
    split_stack: tuple[Stack, AuthServiceProcess], firefox_context: FirefoxContext
) -> None:
    stack, auth = split_stack
    page = firefox_context.new_page()
    page.goto(stack.url + "/")
    username = new_username()
    create_account(page, username)
    saved = page.read_storage(stack.storage_key)
    page.close()
    auth.stop()

    page = firefox_context.new_page()
    page.goto(stack.url + "/")

    page.wait_for_text("Cannot reach the sign-in service")
    assert page.read_storage(stack.storage_key) == saved

    auth.start()
    page.evaluate(CLICK_RETRY_IF_SHOWN)

    page.wait_for_text("Resumed from your last visit")
    assert page.text_of("[data-field=user-id]") == username
    assert stored_session(page, stack)["sessionSecret"] != json.loads(saved)["sessionSecret"]


def test_a_later_visit_starts_from_the_memory_snapshot_the_first_one_made(
    stack: Stack, firefox_page: FirefoxPage, firefox_context: FirefoxContext
) -> None:
    firefox_page.goto(stack.url + "/")
    firefox_page.wait_for("html[data-pyodide-snapshot]", "attached", timeout_s=120)
    assert firefox_page.evaluate("() => document.documentElement.dataset.pyodideSnapshot") == "made"
    firefox_context.clear_records()

    firefox_page.reload()
    firefox_page.wait_until_ready()

    # The snapshot loader runs in the Python worker: its message also shows that workers' console
    # output reaches the records, so the clean-console checks above see it.
    messages = [message.text for message in firefox_context.take_records().console]
    assert any("Pyodide started from its memory snapshot" in text for text in messages), messages
    firefox_page.wait_for(LOGIN_FORM)


def test_an_error_in_python_before_the_app_is_ready_is_a_sentence_not_a_spinner(
    dist: Path, firefox_page: FirefoxPage, firefox_context: FirefoxContext, tmp_path: Path
) -> None:
    site = site_with_app_module(
        dist, tmp_path, "webapp/browser/main.py", 'raise RuntimeError("broken on purpose")\n'
    )
    with Stack(site, tmp_path / "data") as stack:
        firefox_page.goto(stack.url + "/")

        with pytest.raises(PythonDidNotStart) as failed:
            firefox_page.wait_until_ready()

        assert str(failed.value) == (
            "The app could not start: its Python code stopped with an error (RuntimeError). "
            "Reload the page to try again."
        )
        assert firefox_page.count("#python-status .spinner") == 0
        assert firefox_page.evaluate("() => document.getElementById('username').disabled") is True
        assert firefox_context.take_records().foreign_requests(stack.url) == []


def test_reloads_while_python_starts_fetch_nothing_from_another_origin(
    stack: Stack, firefox_page: FirefoxPage, firefox_context: FirefoxContext
) -> None:
    """Firefox is where a reload in the middle of PyScript's set-up once made it fetch a Pyodide from
    its default CDN (when it fetched its configuration itself, and that fetch was cut short)."""
    for delay_s in (0, 0.15, 0.4, 0.8, 1.5):
        firefox_page.goto(stack.url + "/")
        time.sleep(delay_s)  # then the next load cuts this start short, wherever it has got to
    firefox_page.reload()

    firefox_page.wait_until_ready()
    assert firefox_context.take_records().foreign_requests(stack.url) == []
