"""Helpers for the Chromium tests: what a user does on the page, and a recorder of what a page
did, fed by Playwright's events."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage as PlaywrightConsoleMessage
from playwright.sync_api import Locator, Page, Request

from harness.page_records import ConsoleMessage, PageRecords, RecordedRequest
from harness.processes import Stack
from tests.support.accounts import PASSWORD, new_username

SIGNED_IN = "#app > [data-view=signed-in]"


def login_form(page: Page) -> Locator:
    return page.locator("#app > [data-view=login] form")


def create_account(page: Page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.locator(SIGNED_IN).wait_for()


def sign_in(page: Page, credentials: dict[str, str], *, keep_signed_in: bool = True) -> None:
    page.get_by_label("Username").fill(credentials["username"])
    page.get_by_label("Password").fill(credentials["password"])
    page.get_by_label("Keep me signed in").set_checked(keep_signed_in)
    page.get_by_role("button", name="Sign in").click()
    page.locator(SIGNED_IN).wait_for()


def new_account(stack: Stack) -> dict[str, str]:
    """A user made through the real client in CPython; its credentials."""
    credentials = {"username": new_username(), "password": PASSWORD}
    stack.client().new_user(credentials)
    return credentials


# An init script that makes Chromium offer what WebKitGTK offers: an isolated page without
# SharedArrayBuffer, so that no worker can reach the page and Python starts on the main thread.
WITHOUT_SHARED_MEMORY = "delete globalThis.SharedArrayBuffer;"


class Recorder(PageRecords):
    """What the pages of one Chromium test did (tests/browser/conftest.py feeds it)."""

    def add_request(self, request: Request) -> None:
        self.requests.append(
            RecordedRequest(request.method, request.url, request.headers, request.post_data or "")
        )

    def add_console_message(self, message: PlaywrightConsoleMessage) -> None:
        self.console.append(
            ConsoleMessage(message.type, message.text, message.location.get("url", ""))
        )

    def add_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))
