"""The session's life in a real browser: sign-out with the service stopped, keep-alive and expiry,
"Keep me signed in", your devices, and the initial event.

Each test here is one item of issue 11's "Must show" list; the decisions behind them (every
outcome, retry and tab) are tested in CPython (tests/webapp, tests/client). Each page load costs a
Python boot, so these load as few pages as the behaviour allows."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from authclient import pending_revocations_key
from harness.browser_pages import store_value, stored_session, stored_value, wait_until_ready
from harness.processes import AuthServiceProcess, Stack
from tests.support.accounts import new_username
from tests.support.browser import create_account, login_form, new_account, sign_in
from tests.support.stacks import running_split_stack

# The page's "app-session" events, kept from the start of every page load of the context.
COLLECT_SESSION_EVENTS = """
window.sessionEvents = [];
document.addEventListener("app-session", (event) => window.sessionEvents.push(event.detail));
"""
# Long enough for a busy machine to boot the page and refresh in time, short enough to outwait.
IDLE_TTL_S = 8


def session_events(page: Page) -> list[dict]:
    """What the page announced of its session; its access tokens' refreshes left out, which come
    whenever the signed-in view's backend panel asks for one (test_browser_backend.py)."""
    events: list[dict] = page.evaluate("window.sessionEvents")
    return [event for event in events if event["event"] != "token_refreshed"]


def initial_events(events: list[dict]) -> list[dict]:
    return [event for event in events if event["event"] == "initial_session"]


@pytest.fixture
def short_idle_stack(tmp_path: Path) -> Iterator[tuple[Stack, AuthServiceProcess]]:
    with running_split_stack(tmp_path, idle_ttl_s=IDLE_TTL_S) as both:
        yield both


def test_sign_out_with_the_service_stopped_is_at_once_and_the_service_is_told_once_it_is_back(
    split_stack: tuple[Stack, AuthServiceProcess], page: Page
) -> None:
    stack, auth = split_stack
    page.goto(stack.url + "/")
    create_account(page, new_username())
    saved = stored_session(page, stack.storage_key)
    waiting = pending_revocations_key(stack.storage_key)
    auth.stop()

    page.get_by_role("button", name="Sign out", exact=True).click()

    # At once: the form is drawn before the service is asked (and here it cannot answer).
    expect(login_form(page)).to_be_visible(timeout=10_000)
    expect(page.locator(".notice[role=status]")).to_contain_text("You have signed out.")
    assert stored_value(page, stack.storage_key) is None
    assert stored_value(page, waiting) is not None

    auth.start()

    # No user action: the page sends the waiting sign-out by itself, with its backoff.
    page.wait_for_function("key => localStorage.getItem(key) === null", arg=waiting, timeout=90_000)
    # The old session object, presented again by the browser that holds its key, is refused.
    store_value(page, stack.storage_key, json.dumps(saved))
    page.reload()
    expect(login_form(page)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Your session was ended")
    assert stored_value(page, stack.storage_key) is None


def test_a_tab_left_open_stays_signed_in_and_one_closed_past_the_idle_lifetime_finds_it_expired(
    short_idle_stack: tuple[Stack, AuthServiceProcess], new_page: Callable[[], Page]
) -> None:
    stack, _ = short_idle_stack
    page = new_page()
    page.context.add_init_script(COLLECT_SESSION_EVENTS)
    page.goto(stack.url + "/")
    create_account(page, new_username())
    first = stored_session(page, stack.storage_key)

    page.wait_for_timeout((3 * IDLE_TTL_S + 2) * 1000)  # open for over three idle lifetimes

    expect(page.locator("#app > [data-view=signed-in]")).to_be_visible()
    refreshed = [event for event in session_events(page) if event["event"] == "refreshed"]
    assert len(refreshed) >= 3
    now = stored_session(page, stack.storage_key)
    assert now["sessionId"] == first["sessionId"]
    assert now["sessionSecret"] != first["sessionSecret"]

    page.close()  # the only tab: the browser is closed
    time.sleep(IDLE_TTL_S + 2)
    page = new_page()
    page.goto(stack.url + "/")

    expect(page.get_by_role("alert")).to_have_text(
        "Your session has expired. Please sign in again."
    )
    expect(login_form(page)).to_be_visible()


def test_unchecked_keep_me_signed_in_a_reopened_tab_asks_to_sign_in_and_checked_it_resumes(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    credentials = new_account(stack)
    first = new_page()
    first.goto(stack.url + "/")
    sign_in(first, credentials, keep_signed_in=False)
    assert stored_value(first, stack.storage_key) is None
    assert first.evaluate("key => sessionStorage.getItem(key)", stack.storage_key) is not None
    first.close()

    second = new_page()
    second.goto(stack.url + "/")
    wait_until_ready(second)
    expect(login_form(second)).to_be_visible()
    sign_in(second, credentials, keep_signed_in=True)
    second.close()

    third = new_page()
    third.goto(stack.url + "/")
    expect(third.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    expect(third.locator("[data-field=user-id]")).to_have_text(credentials["username"])


def test_ending_a_device_s_session_from_the_device_list_shows_it_the_login_form_at_once(
    stack: Stack, new_context: Callable[[], Callable[[], Page]]
) -> None:
    credentials = new_account(stack)
    device_b = new_context()()
    device_b.goto(stack.url + "/")
    sign_in(device_b, credentials)
    device_a = new_context()()
    device_a.goto(stack.url + "/")
    sign_in(device_a, credentials)

    # Both are headless Chromium on Linux; the button's name says which device, and when.
    other_device = device_a.get_by_role(
        "button", name=re.compile(r"^Sign out Chrome on Linux, last used \d")
    )
    expect(other_device).to_have_count(1)
    expect(device_a.get_by_text("this device", exact=True)).to_be_visible()
    other_device.click()
    expect(device_a.get_by_text("That device is signed out.")).to_be_visible()
    expect(other_device).to_have_count(0)

    # Its message stream ends with the session: no reload needed.
    expect(device_b.get_by_role("alert")).to_have_text(
        "Your session was ended from another device. Please sign in again."
    )
    expect(login_form(device_b)).to_be_visible()
    assert stored_value(device_b, stack.storage_key) is None


def test_the_initial_event_fires_exactly_once_per_page_load(stack: Stack, page: Page) -> None:
    page.context.add_init_script(COLLECT_SESSION_EVENTS)
    page.goto(stack.url + "/")
    wait_until_ready(page)
    assert initial_events(session_events(page)) == [
        {
            "event": "initial_session",
            "userId": None,
            "signedIn": False,
            "outcome": "login_needed",
            "reason": "no_session",
        }
    ]
    username = new_username()
    create_account(page, username)
    first_load = session_events(page)

    page.reload()
    expect(page.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    wait_until_ready(page)
    second_load = session_events(page)

    assert [event["event"] for event in first_load] == ["initial_session", "signed_in"]
    (initial,) = initial_events(second_load)
    assert (initial["signedIn"], initial["userId"]) == (True, username)
    state, last = page.evaluate("[window.appSession.state, window.sessionEvents.at(-1)]")
    assert state == last
    secret = stored_session(page, stack.storage_key)["sessionSecret"]
    assert secret not in json.dumps(first_load + second_load)
