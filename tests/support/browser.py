"""Helpers for the Chromium tests: what a user does on the page, and a recorder of what a page
did, fed by Playwright's events."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage as PlaywrightConsoleMessage
from playwright.sync_api import Locator, Page, Request, Worker

from harness.page_records import ConsoleMessage, PageRecords, RecordedRequest
from harness.processes import Stack
from tests.support.accounts import PASSWORD, new_username

SIGNED_IN = "#app > [data-view=signed-in]"

# What has focus: whether it matches a selector, a description for messages, and whether it shows
# a focus ring (an outline: the page's :focus-visible, or the browser's own, "auto").
FOCUSED = """(selector) => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const label = element.labels?.[0]?.textContent ?? element.getAttribute("aria-label") ?? element.textContent;
  return {
    matches: element.matches(selector),
    description: `${element.tagName.toLowerCase()} "${(label ?? "").trim().slice(0, 60)}"`,
    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
}"""


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


def tab_to(page: Page, selector: str, *, most: int = 40) -> None:
    """Press Tab until focus reaches the element `selector` matches, as a keyboard user does; each
    element focused on the way must show it (WCAG 2.4.7)."""
    unseen: list[str] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED, selector)
        # Past the last control focus leaves the page for a moment (the body): nothing to see.
        if not focused["ring"] and not focused["description"].startswith("body"):
            unseen.append(focused["description"])
        if focused["matches"]:
            break
    else:
        raise AssertionError(f"{most} presses of Tab never reached {selector}")
    assert unseen == [], f"focus was not visible on {unseen}"


def focused_matches(page: Page, selector: str) -> bool:
    matches: bool = page.evaluate(FOCUSED, selector)["matches"]
    return matches


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


class Workers:
    """The workers a page starts, from Playwright's "worker" event (which reports workers started by
    a worker too), each by its kind: "blob" for one made from a string (PyScript's Python worker is
    one, and so is any a library starts that way), "snapshot maker" (static/snapshot-maker.mjs),
    else its URL."""

    def __init__(self, page: Page) -> None:
        self.started: list[Worker] = []
        # Playwright takes a Python function, not a builtin method such as list.append.
        page.on("worker", lambda worker: self.started.append(worker))

    def kinds(self) -> list[str]:
        return sorted(_worker_kind(worker.url) for worker in self.started)

    def clear(self) -> None:
        self.started.clear()


def _worker_kind(url: str) -> str:
    if url.startswith("blob:"):
        return "blob"
    if "/snapshot-maker-" in url:
        return "snapshot maker"
    return url
