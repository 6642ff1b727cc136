"""Every view of the page as a person meets it, reached in one walk by keyboard alone, each checked
by axe-core against WCAG 2.2 A and AA in light and dark, drawn within the window from 320 px up
(nothing wider than the window or its card, each checkbox on one line with its label), with focus
moved to where each new view starts.

One walk, so that the views cost two page loads, not a browser start each. The views (issue 23):
the login form; a refused sign-in; creating an account (the hint counting what the new password
still needs, the password shown); a new password the service refused, said beside its field;
"Resuming your session…" (the start of Python held back); "Cannot reach the sign-in service" (the
browser refuses the service's address); signed in, with two devices and a conversation; changing
the password (the account's controls ask in place, issue 25); the session
about to end (the service gives every session SESSION_TTL_S seconds, so the warning comes three
quarters of the way through, after the other views).

With VIEW_SCREENSHOTS naming a folder (`python3 build.py screenshots` does), the walk also leaves a
picture of every view there, at 360 and 1280 px wide, light and dark, for a person to look at.

"Show password" and the hint are the page's own JavaScript (static/password-fields.mjs): the last
test shows them working while Python has not started.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Page, Route, expect

from authclient import MemoryStorage, SessionClient
from harness.processes import AuthServiceProcess, Stack
from tests.support.accounts import PASSWORD, new_username
from tests.support.axe import axe_violations
from tests.support.browser import SIGNED_IN, focused_matches, tab_to
from tests.support.stacks import running_split_stack
from webapp.config import DEFAULT_AUTH_URL

# Long enough for the views before the warning on a busy machine; the warning then shows for the
# last quarter (9 s), time enough to look at it.
SESSION_TTL_S = 36
# Where the layout is measured: the narrowest phone the issue names, a common one, a laptop.
WIDTHS = (320, 360, 1280)
HEIGHT = 800
# Where axe looks: each colour scheme once, one of them at a phone's width.
AXE_AT: tuple[tuple[int, Literal["light", "dark"]], ...] = ((360, "light"), (1280, "dark"))
SCREENSHOT_WIDTHS = (360, 1280)
SCREENSHOTS = os.environ.get("VIEW_SCREENSHOTS")
SCREENSHOT_NAME = re.compile(r"\d\d-[a-z0-9-]+-\d+-(light|dark)\.png")

# Drawn elements of the app (and the status line) that reach beyond the window or their card.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const describe = (element) =>
    `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}.${[...element.classList].join(".")}`;
  const found = [];
  if (document.documentElement.scrollWidth > width) {
    found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${width}`);
  }
  for (const element of document.querySelectorAll("#app *, #python-status")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const card = element.closest(".card")?.getBoundingClientRect() ?? { left: 0, right: width };
    if (box.left < card.left - 0.5 || box.right > card.right + 0.5) {
      found.push(`${describe(element)} spans ${Math.round(box.left)}..${Math.round(box.right)} px`);
    }
  }
  return found;
}"""
# Each shown checkbox, and whether its label sits beside it on one line: to its right, close, and
# centred on the same line.
CHECKBOXES = """() => [...document.querySelectorAll("#app input[type=checkbox]")]
  .filter((box) => box.getClientRects().length > 0)
  .map((box) => {
    const label = box.labels[0];
    const a = box.getBoundingClientRect();
    const b = label.getBoundingClientRect();
    const lineHeight = parseFloat(getComputedStyle(label).lineHeight);
    return {
      label: label.textContent.trim(),
      beside: b.left >= a.right && b.left - a.right <= 24 &&
        Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2) <= 4 && b.height <= lineHeight + 1,
    };
  })"""


@dataclass
class Walk:
    """What was seen of each view (its name first in every line)."""

    screenshots: Path | None
    violations: list[str] = field(default_factory=list)
    overflowing: list[str] = field(default_factory=list)
    checkboxes: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    views: list[str] = field(default_factory=list)

    def look(self, page: Page, view: str) -> None:
        self.views.append(view)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            self.overflowing += [
                f"{view} at {width} px: {line}" for line in page.evaluate(OVERFLOWING)
            ]
            self.checkboxes[view, width] = page.evaluate(CHECKBOXES)
        for width, scheme in AXE_AT:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.emulate_media(color_scheme=scheme)
            self.violations += [f"{view}, {scheme}: {found}" for found in axe_violations(page)]
        if self.screenshots:
            self.screenshot(page, view, self.screenshots)
        page.set_viewport_size({"width": 1280, "height": HEIGHT})
        page.emulate_media(color_scheme="light")

    def screenshot(self, page: Page, view: str, folder: Path) -> None:
        name = f"{len(self.views):02d}-{re.sub(r'[^a-z0-9]+', '-', view.lower()).strip('-')}"
        for width in SCREENSHOT_WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.screenshot(path=folder / f"{name}-{width}-{scheme}.png", full_page=True)

    def checkboxes_apart(self) -> list[str]:
        return [
            f"{view} at {width} px: {box['label']!r}"
            for (view, width), boxes in self.checkboxes.items()
            for box in boxes
            if not box["beside"]
        ]


@pytest.fixture
def short_sessions(tmp_path: Path) -> Iterator[tuple[Stack, AuthServiceProcess]]:
    with running_split_stack(tmp_path, session_ttl_s=SESSION_TTL_S) as both:
        yield both


@pytest.fixture
def walk() -> Walk:
    folder = Path(SCREENSHOTS).resolve() if SCREENSHOTS else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):  # a walk's before, and nothing else
            if SCREENSHOT_NAME.fullmatch(old.name):
                old.unlink()
    return Walk(folder)


def auth_client(stack: Stack, auth: AuthServiceProcess) -> SessionClient:
    """The real client in CPython, on the auth service the page uses (not the one of the page's own
    server)."""
    return SessionClient(
        stack.application_key, auth.url + DEFAULT_AUTH_URL, storage=MemoryStorage()
    )


def new_account(client: SessionClient) -> dict[str, str]:
    credentials = {"username": new_username(), "password": PASSWORD}
    client.new_user(credentials)
    return credentials


def select_and_type(page: Page, text: str) -> None:
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def test_every_view_passes_axe_in_light_and_dark_and_fits_from_320_px_walked_by_keyboard(
    short_sessions: tuple[Stack, AuthServiceProcess],
    new_context: Callable[..., Callable[[], Page]],
    walk: Walk,
) -> None:
    stack, auth = short_sessions
    alice, bob = new_account(auth_client(stack, auth)), new_account(auth_client(stack, auth))
    viewport = {"width": 1280, "height": HEIGHT}
    page = new_context(viewport=viewport)()
    page.goto(stack.url + "/")
    expect(page.locator("html")).to_have_attribute("data-python", "ready")
    walk.look(page, "login")

    # A refused sign-in: the notice takes focus.
    tab_to(page, "#username")
    page.keyboard.type(alice["username"])
    tab_to(page, "#password")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("Wrong username or password.")
    assert focused_matches(page, ".notice")
    walk.look(page, "sign-in refused")

    # Creating an account: the hint counts as the password is typed; Space shows the password.
    tab_to(page, "#username")
    select_and_type(page, new_username())
    tab_to(page, "#password")
    page.keyboard.type("8 chars!")
    expect(page.locator("#password-hint")).to_have_text(
        "For a new account: 4 more characters needed."
    )
    tab_to(page, "[data-show-password]")
    page.keyboard.press("Space")
    expect(page.locator("#password")).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Show password")).to_have_attribute(
        "aria-pressed", "true"
    )
    walk.look(page, "creating an account")

    # The service refuses a common password: said beside the field, which takes focus.
    page.keyboard.press("Shift+Tab")
    select_and_type(page, "password1234")
    tab_to(page, "button[value=create-account]")
    page.keyboard.press("Enter")
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile("most common passwords"))
    assert focused_matches(page, "#password")
    walk.look(page, "new password refused")

    # Resuming, then the service out of reach, in a profile that holds a session.
    bobs_session = auth_client(stack, auth).start(bob)
    walk_resuming_then_unreachable(new_context(viewport=viewport)(), stack, bobs_session, walk)

    # Signed in, by keyboard, with a second device and a conversation.
    auth_client(stack, auth).start(alice)
    page.bring_to_front()
    tab_to(page, "#username")
    select_and_type(page, alice["username"])
    tab_to(page, "#password")
    page.keyboard.type(alice["password"])
    page.keyboard.press("Enter")
    expect(page.locator(SIGNED_IN)).to_be_visible()
    assert focused_matches(page, "h1")
    tab_to(page, "#message-to")
    page.keyboard.type(bob["username"])
    tab_to(page, "#message-text")
    page.keyboard.type("Lunch at one?")
    page.keyboard.press("Enter")
    expect(page.locator(".message-list .message")).to_have_count(1)
    other_device = page.locator("button[value=revoke-session]")
    expect(other_device).to_have_count(1)
    # What the application's own backend says, from the page's access token.
    expect(page.locator("[data-field=backend-caller]")).to_contain_text(alice["username"])
    walk.look(page, "signed in")

    # Changing the password asks first, in place: the step's heading takes focus; Cancel goes back.
    tab_to(page, "button[value=ask-change-password]")
    page.keyboard.press("Enter")
    expect(page.get_by_label("New password")).to_be_visible()
    assert focused_matches(page, "#change-password-title")
    # The new password's fields as at "Create account": the hint counts, Space shows it.
    tab_to(page, "#new-password")
    page.keyboard.type("short")
    expect(page.locator("#new-password-hint")).to_have_text("7 more characters needed.")
    tab_to(page, "[data-show-password][aria-controls=new-password]")
    page.keyboard.press("Space")
    expect(page.locator("#new-password")).to_have_attribute("type", "text")
    walk.look(page, "change password")
    tab_to(page, "button[value=account-cancel]")
    page.keyboard.press("Enter")
    expect(page.get_by_label("New password")).to_have_count(0)

    # Another device signed out from the list: the notice takes focus from the button gone.
    tab_to(page, "button[value=revoke-session]")
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("That device is signed out.")
    expect(other_device).to_have_count(0)
    assert focused_matches(page, ".notice")

    # The session about to end: the warning comes by itself.
    expect(page.get_by_role("alert")).to_contain_text(
        "Your session ends at", timeout=SESSION_TTL_S * 1000
    )
    walk.look(page, "session about to end")

    assert walk.violations == [], "axe found WCAG 2.2 A/AA violations"
    assert walk.overflowing == [], "elements reach beyond the window or their card"
    assert walk.checkboxes_apart() == [], "a checkbox is not on one line with its label"
    for width in (360, 1280):
        assert [box["label"] for box in walk.checkboxes["login", width]] == ["Keep me signed in"]


def walk_resuming_then_unreachable(
    page: Page, stack: Stack, session: dict[str, Any], walk: Walk
) -> None:
    """ "Resuming…" while the start of Python is held back, then "Cannot reach": the browser
    refuses the service's address once, and holds the app's own retries, so that the view stays
    as it was drawn while it is looked at."""
    store = (
        f"localStorage.setItem({json.dumps(stack.storage_key)}, {json.dumps(json.dumps(session))})"
    )
    page.context.add_init_script(store)
    boot: list[Route] = []
    page.route("**/boot-*.mjs", lambda route: boot.append(route))
    page.goto(stack.url + "/", wait_until="domcontentloaded")
    expect(page.locator("#app > [data-view=resuming]")).to_be_visible()
    walk.look(page, "resuming")

    refused: list[Route] = []
    held: list[Route] = []

    def refuse_the_first_hold_the_rest(route: Route) -> None:
        if refused:
            held.append(route)
        else:
            refused.append(route)
            route.abort("connectionrefused")

    page.route("**/v1/**", refuse_the_first_hold_the_rest)
    for _ in range(200):  # the page asks for boot.mjs once it has painted
        if boot:
            break
        page.wait_for_timeout(50)
    boot[0].continue_()
    expect(page.get_by_role("heading", name="Cannot reach the sign-in service")).to_be_visible()
    assert focused_matches(page, ".notice")
    walk.look(page, "cannot reach")
    page.close()


def test_show_password_and_the_new_password_hint_work_before_python_starts(
    stack: Stack, page: Page
) -> None:
    # Python's runtime never arrives: only the page's own JavaScript runs.
    page.route("**/pyodide.asm.wasm", lambda route: None)
    page.goto(stack.url + "/", wait_until="domcontentloaded")
    # The page's modules are loaded once it has painted; boot.mjs marks its start after theirs.
    page.wait_for_function("performance.getEntriesByName('page:boot module').length > 0")
    password = page.get_by_label("Password", exact=True)
    hint = page.locator("#password-hint")
    expect(hint).to_have_text("New accounts need a password of at least 12 characters.")

    password.fill(PASSWORD[:11])
    expect(hint).to_have_text("For a new account: 1 more character needed.")
    password.fill(PASSWORD)
    expect(hint).to_have_text("Long enough for a new account.")
    password.fill("")
    expect(hint).to_have_text("New accounts need a password of at least 12 characters.")
    # Counted as the service counts: code points (not UTF-16 units), after NFKC.
    password.fill("😀" * 11)
    expect(hint).to_have_text("For a new account: 1 more character needed.")
    password.fill("😀" * 10 + "ﬁ")  # the ligature is two letters after NFKC
    expect(hint).to_have_text("Long enough for a new account.")
    expect(page.locator("[data-announces=password-hint]")).to_have_text(
        "Long enough for a new account."
    )

    show = page.get_by_role("button", name="Show password")
    expect(show).to_have_attribute("aria-pressed", "false")
    show.click()
    expect(password).to_have_attribute("type", "text")
    expect(show).to_have_attribute("aria-pressed", "true")
    show.click()
    expect(password).to_have_attribute("type", "password")
    expect(show).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("document.documentElement.dataset.python") == "loading"
