"""The account's own life in a real browser, what only a browser shows (issue 25's "Browser
tests"): a password changed in one context ends the other's page at once, with the sentence; an
account deleted in one context shows as "a deleted account" in the other's messages; the password
asked again in place, and what was asked then done. The decisions behind them are tested in
CPython (tests/webapp/test_app_account.py, tests/client, tests/service)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from harness.processes import AuthServiceProcess, Stack
from tests.browser.test_browser_messages import send, sign_in_live
from tests.browser.test_browser_views import auth_client
from tests.support.accounts import PASSWORD, new_username
from tests.support.browser import login_form, new_account
from tests.support.stacks import running_split_stack

NEW_PASSWORD = "a brand new passphrase"
REAUTH_WINDOW_S = 2


@pytest.fixture
def forgetful_stack(tmp_path: Path) -> Iterator[tuple[Stack, AuthServiceProcess]]:
    """A service that asks for the password again two seconds after it was given."""
    with running_split_stack(tmp_path, reauth_window_s=REAUTH_WINDOW_S) as both:
        yield both


def test_a_password_changed_in_one_context_shows_the_other_the_login_form_saying_so(
    stack: Stack, new_context: Callable[[], Callable[[], Page]]
) -> None:
    credentials = new_account(stack)
    phone = sign_in_live(new_context()(), stack, credentials)
    laptop = sign_in_live(new_context()(), stack, credentials)

    laptop.get_by_role("button", name="Change password").click()
    expect(
        laptop.get_by_text("Every other device where you are signed in will be signed out.")
    ).to_be_visible()
    laptop.get_by_label("Current password").fill(PASSWORD)
    laptop.get_by_label("New password").fill(NEW_PASSWORD)
    laptop.get_by_role("button", name="Change password").click()

    expect(laptop.locator("[data-region=account] .notice")).to_contain_text(
        "Your password is changed"
    )
    expect(phone.get_by_role("alert")).to_have_text(
        "The password of your account was changed, so you were signed out. Please sign in again."
    )
    expect(login_form(phone)).to_be_visible()


def test_an_account_deleted_in_one_context_shows_as_a_deleted_account_in_the_other_s_messages(
    stack: Stack, new_context: Callable[[], Callable[[], Page]]
) -> None:
    alice, bob = new_account(stack), new_account(stack)
    bob_page = sign_in_live(new_context()(), stack, bob)
    alice_page = sign_in_live(new_context()(), stack, alice)
    send(alice_page, bob["username"], "Lunch at one?")
    expect(bob_page.get_by_text("Lunch at one?").first).to_be_visible()

    alice_page.get_by_role("button", name="Delete account").click()
    expect(alice_page.get_by_text("cannot be brought back", exact=False)).to_be_visible()
    alice_page.get_by_role("button", name="Delete my account").click()
    expect(alice_page.get_by_text("Your account has been deleted.")).to_be_visible()
    expect(login_form(alice_page)).to_be_visible()

    bob_page.reload()
    expect(bob_page.locator(".conversations .preview .sender")).to_have_text("a deleted account:")
    bob_page.locator("button[value=open-conversation]").click()
    expect(bob_page.locator("[data-region=conversation] .sender")).to_have_text("a deleted account")


def test_the_password_is_asked_again_in_place_and_then_the_other_devices_are_signed_out(
    forgetful_stack: tuple[Stack, AuthServiceProcess],
    new_context: Callable[[], Callable[[], Page]],
) -> None:
    stack, auth = forgetful_stack
    credentials = {"username": new_username(), "password": PASSWORD}
    auth_client(stack, auth).new_user(credentials)  # on the service this page uses
    phone = sign_in_live(new_context()(), stack, credentials)
    laptop = sign_in_live(new_context()(), stack, credentials)
    time.sleep(REAUTH_WINDOW_S + 0.5)

    laptop.get_by_role("button", name="Sign out the other devices").click()
    expect(laptop.get_by_role("heading", name="Sign out the other devices?")).to_be_visible()
    laptop.get_by_role("button", name="Sign them out").click()  # confirmed

    prompt = laptop.get_by_role("heading", name="Enter your password again")
    expect(prompt).to_be_visible()
    expect(prompt).to_be_focused()
    laptop.get_by_label("Password", exact=True).fill(PASSWORD)
    laptop.get_by_label("Password", exact=True).press("Enter")

    expect(laptop.get_by_text("Your other devices are signed out.")).to_be_visible()
    expect(login_form(phone)).to_be_visible()
    expect(phone.get_by_role("alert")).to_contain_text("ended from another device")
