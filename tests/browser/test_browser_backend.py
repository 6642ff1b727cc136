"""The application's own backend, called from the real page (issue 24): the signed-in view asks it
who is calling with a DPoP-bound access token and a proof from the device key, and the page's own
scripts get a token from `window.appSession`, never the session secret, and none once signed out.
The backend's checks are tested over HTTP in tests/backend, the client's in tests/client."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from harness.browser_pages import stored_session
from harness.processes import Stack
from tests.support.accounts import new_username
from tests.support.backend import (
    ASK_TOKEN,
    BACKEND_CALLER,
    CALL_BACKEND_FROM_SCRIPT,
    WHOAMI,
    backend_says,
    claims,
)
from tests.support.browser import Recorder, create_account
from webapp.config import DEFAULT_BACKEND_URL


def test_the_page_and_its_scripts_call_the_backend_with_a_bound_token_and_none_once_signed_out(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    username = new_username()
    page.goto(stack.url + "/")
    create_account(page, username)

    expect(page.locator(BACKEND_CALLER)).to_have_text(backend_says(username, bound=True))
    asked = [r for r in recorder.requests if r.url.endswith(WHOAMI)]
    assert asked and asked[0].headers["authorization"].startswith("DPoP ey")
    assert asked[0].headers["dpop"].startswith("ey")
    secret = stored_session(page, stack.storage_key)["sessionSecret"]

    called = page.evaluate(CALL_BACKEND_FROM_SCRIPT, stack.url + WHOAMI)

    assert called["status"] == 200, called
    assert called["body"]["userId"] == username and called["body"]["boundToDevice"] is True
    assert claims(called["token"])["sub"] == username
    assert "jkt" in claims(called["token"])["cnf"]
    carrying_secret = recorder.requests_carrying(secret)
    assert carrying_secret and not [r for r in carrying_secret if DEFAULT_BACKEND_URL in r]

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    assert page.evaluate(ASK_TOKEN) is None
    assert recorder.foreign_requests(stack.url) == []
    assert recorder.console_errors() == []
