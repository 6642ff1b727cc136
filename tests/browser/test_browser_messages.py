"""The messages panel in a real browser (issue 14's "Must show"): two users in two browser
contexts write to each other live, see the delivered mark and the history after a reload,
markup stays text; signing out, or being signed out from another device, closes the stream and
shows the login form. The panel's decisions (failures, reconnection, ordering, receipts) are
tested in CPython (tests/webapp/test_app_messages.py); these prove the wiring: the stream read
with fetch() in the worker (and on the main thread), the page's own timezone, the CSP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, Request, expect

from authclient.messaging import Messenger
from harness.browser_pages import stored_session
from harness.processes import Stack
from tests.support.browser import WITHOUT_SHARED_MEMORY, Recorder, login_form, new_account, sign_in

LIVE = "Live: new messages appear as they arrive."
# The bound, from a send to the recipient's screen.
LIVE_WITHIN_MS = 2000
# Records, in the page, when each message text first shows (ms since the epoch, as the test's
# clock and Playwright's request timings count).
RECORD_ARRIVALS = """
window.arrivals = {};
new MutationObserver(() => {
  for (const text of document.querySelectorAll("[data-region=conversation] .text")) {
    window.arrivals[text.textContent] ??= performance.timeOrigin + performance.now();
  }
}).observe(document, { subtree: true, childList: true });
"""
MARKUP = "<b>bold?</b><img src=x onerror=\"document.title='pwned'\">"


def messages_of(page: Page) -> list[str]:
    """The texts of the open conversation, as shown (newest first)."""
    return page.locator("[data-region=conversation] .text").all_inner_texts()


def send(page: Page, to: str, text: str, *, press_enter: bool = False) -> None:
    page.get_by_label("To", exact=True).fill(to)
    page.get_by_label("Message", exact=True).fill(text)
    if press_enter:
        page.get_by_label("Message", exact=True).press("Enter")
    else:
        page.get_by_role("button", name="Send").click()


def sign_in_live(page: Page, stack: Stack, credentials: dict[str, str]) -> Page:
    """Sign in through the page; once its message stream is live."""
    page.goto(stack.url + "/")
    sign_in(page, credentials)
    expect(page.get_by_text(LIVE)).to_be_visible()
    return page


class StreamWatch:
    """The message-stream requests of a page's browser context (the worker's fetch() included)."""

    def __init__(self, page: Page) -> None:
        self.opened: list[Request] = []
        self.ended: list[Request] = []
        page.context.on("request", lambda request: self._see(request, self.opened))
        page.context.on("requestfailed", lambda request: self._see(request, self.ended))
        page.context.on("requestfinished", lambda request: self._see(request, self.ended))

    @staticmethod
    def _see(request: Request, into: list[Request]) -> None:
        if "/v1/messages/stream" in request.url:
            into.append(request)

    def wait_until_all_ended(self, page: Page, timeout_ms: float = 10_000) -> None:
        waited_ms = 0
        while len(self.ended) < len(self.opened):
            assert waited_ms < timeout_ms, f"a message stream is still open after {timeout_ms} ms"
            page.wait_for_timeout(50)  # Playwright delivers its events while it waits
            waited_ms += 50


@pytest.fixture
def two_users(stack: Stack) -> tuple[dict[str, str], dict[str, str]]:
    return new_account(stack), new_account(stack)


def test_two_users_write_live_see_delivered_marks_and_the_history_after_a_reload(
    stack: Stack,
    new_context: Callable[..., Callable[[], Page]],
    two_users: tuple[dict[str, str], dict[str, str]],
    recorder: Recorder,
) -> None:
    alice, bob = two_users
    # Alice's browser is in Tokyo: the page shows times in its own timezone.
    alice_page = sign_in_live(new_context(timezone_id="Asia/Tokyo")(), stack, alice)
    bob_page = sign_in_live(new_context(timezone_id="UTC")(), stack, bob)
    bob_page.evaluate(RECORD_ARRIVALS)

    with alice_page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith("/v1/messages")
    ) as sending:
        send(alice_page, bob["username"], MARKUP)
    sending.value.response()  # its timings are known once it is answered
    sent_at_ms = sending.value.timing["startTime"]

    bob_page.wait_for_function("text => text in window.arrivals", arg=MARKUP, timeout=10_000)
    shown_after_ms = bob_page.evaluate("text => window.arrivals[text]", MARKUP) - sent_at_ms
    assert shown_after_ms < LIVE_WITHIN_MS, f"shown {shown_after_ms:.0f} ms after the send"
    expect(alice_page.get_by_text(f"Delivered to {bob['username']}")).to_be_visible()
    expect(alice_page.get_by_label("Message", exact=True)).to_have_value("")
    # Markup is text: shown as typed, nothing of it in the page's markup.
    assert messages_of(bob_page) == [MARKUP]
    assert bob_page.locator("[data-region=conversation] :is(b, img)").count() == 0
    assert bob_page.title() != "pwned"
    expect(bob_page.locator("[data-region=conversation] .sender")).to_have_text(alice["username"])
    time = alice_page.locator("[data-region=conversation] time").first
    sent = datetime.fromisoformat(str(time.get_attribute("datetime")))
    expect(time).to_contain_text(sent.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M"))

    send(bob_page, alice["username"], "Got it, as text.", press_enter=True)

    expect(alice_page.locator("[data-region=conversation] .text").first).to_have_text(
        "Got it, as text."
    )
    expect(bob_page.get_by_text(f"Delivered to {alice['username']}")).to_be_visible()

    for page in (alice_page, bob_page):
        page.reload()
        expect(page.get_by_text(LIVE)).to_be_visible()
        expect(page.locator("[data-region=conversation] .text")).to_have_count(2)
        assert messages_of(page) == ["Got it, as text.", MARKUP]
    senders = alice_page.locator("[data-region=conversation] .sender").all_inner_texts()
    assert senders == [bob["username"], "You"]
    assert recorder.console_errors() == []


def test_signing_out_or_being_signed_out_elsewhere_closes_the_stream_and_shows_the_login_form(
    stack: Stack,
    new_context: Callable[..., Callable[[], Page]],
    two_users: tuple[dict[str, str], dict[str, str]],
) -> None:
    alice, bob = two_users
    alice_page, bob_page = new_context()(), new_context()()
    alice_streams, bob_streams = StreamWatch(alice_page), StreamWatch(bob_page)
    sign_in_live(alice_page, stack, alice)
    sign_in_live(bob_page, stack, bob)

    alice_page.get_by_role("button", name="Sign out", exact=True).click()

    expect(login_form(alice_page)).to_be_visible()
    expect(alice_page.locator(".notice[role=status]")).to_have_text("You have signed out.")
    alice_streams.wait_until_all_ended(alice_page)
    assert len(alice_streams.opened) == 1

    # Bob, on another device, ends the session this browser holds.
    phone = stack.client()
    phone.start(bob)
    phone.revoke_session(stored_session(bob_page, stack.storage_key)["sessionId"])

    expect(bob_page.get_by_role("alert")).to_have_text(
        "Your session was ended from another device. Please sign in again."
    )
    expect(login_form(bob_page)).to_be_visible()
    bob_streams.wait_until_all_ended(bob_page)
    assert stored_session(bob_page, stack.storage_key) is None


def test_with_python_on_the_main_thread_a_message_arrives_live_and_one_is_sent(
    stack: Stack, new_page: Callable[[], Page], two_users: tuple[dict[str, str], dict[str, str]]
) -> None:
    alice, bob = two_users
    page = new_page()
    page.add_init_script(WITHOUT_SHARED_MEMORY)
    sign_in_live(page, stack, bob)
    assert page.evaluate("document.documentElement.dataset.pythonThread") == "main"
    alice_elsewhere = stack.client()
    alice_elsewhere.start(alice)
    messenger = Messenger(alice_elsewhere)

    messenger.send_message([bob["username"]], "to the main thread")

    expect(page.locator("[data-region=conversation] .text")).to_have_text(["to the main thread"])
    send(page, alice["username"], "and back")
    expect(page.locator("[data-region=conversation] .text").first).to_have_text("and back")
    conversation = messenger.list_conversations().conversations[0]
    assert conversation.last_message.text == "and back"
    received = messenger.list_messages(conversation.conversation_id).messages[-1]
    assert received.text == "to the main thread"
    assert set(received.delivered_to) == {bob["username"]}
