"""The messages panel, in CPython against the real service: sending, a failed send, history,
receipts, escaping, and the live stream (reconnection, the session's end, sign-out).

Each user has a browser profile of their own; a user without a tab sends through the client
library (`Messenger`), as another device or a bot would. The stream is read over HTTP
(tests/webapp/streams.py), and the tests fail its network as a browser's would."""

from __future__ import annotations

import asyncio
import html
import re

import pytest

from authclient.messaging import Messenger
from tests.webapp.fake_page import FakePage, Profile
from tests.webapp.helpers import OpenTab, Service, Tab, stored, until
from webapp import messages_panel
from webapp.messages_panel import NO_RECIPIENT

LIVE = "Live: new messages appear as they arrive."


async def signed_in(
    open_tab: OpenTab,
    credentials: dict[str, str],
    profile: Profile | None = None,
    **options: object,
) -> Tab:
    """A tab (of a profile of its own unless given one), signed in, its stream live and its
    history read."""
    tab = open_tab(profile=profile or Profile(), **options)
    if tab.page.view == "login":
        tab.page.press("sign-in", **credentials)
    await until(lambda: LIVE in tab.page.text())
    return tab


def messenger(service: Service, credentials: dict[str, str]) -> Messenger:
    """The user, signed in on another device."""
    client = service.client()
    client.start(credentials)
    return Messenger(client)


def region(page: FakePage, name: str) -> str:
    match = re.search(rf'<div data-region="{name}"[^>]*>(.*?)</div>', page.html, re.DOTALL)
    assert match, f"no region {name!r}"
    return match[1]


def texts(page: FakePage) -> list[str]:
    """The texts of the open conversation's messages, as shown (newest first)."""
    found = re.findall(r'<p class="text">(.*?)</p>', region(page, "conversation"), re.DOTALL)
    return [html.unescape(text) for text in found]


def senders(page: FakePage) -> list[str]:
    found = re.findall(r'<span class="sender">(.*?)</span>', region(page, "conversation"))
    return [html.unescape(name) for name in found]


def conversations(page: FakePage) -> list[str]:
    """Who each listed conversation is with, in the order shown."""
    found = re.findall(r'value="open-conversation"[^>]*>(.*?)</button>', page.html)
    return [html.unescape(name) for name in found]


def write(page: FakePage, to: str, text: str) -> None:
    page.type("to", to)
    page.type("text", text)
    page.submit("messages", "send-message")


async def test_a_sent_message_shows_as_one_s_own_and_the_message_field_is_emptied(
    open_tab: OpenTab, service: Service
) -> None:
    bob = service.new_user()
    alice = await signed_in(open_tab, service.new_user())

    write(alice.page, bob["username"], "hello bob")

    assert texts(alice.page) == ["hello bob"]
    assert senders(alice.page) == ["You"]
    assert 'class="message own"' in region(alice.page, "conversation")
    assert f"Sent to {bob['username']}" in alice.page.text()
    assert alice.page.field("text") == ""
    assert alice.page.field("to") == bob["username"]
    assert conversations(alice.page) == [bob["username"]]
    assert alice.page.done[-1] == "messages"  # the form takes the next message


async def test_the_recipient_sees_it_live_and_the_sender_sees_it_delivered(
    open_tab: OpenTab, service: Service
) -> None:
    alice_credentials, bob_credentials = service.new_user(), service.new_user()
    alice = await signed_in(open_tab, alice_credentials)
    bob = await signed_in(open_tab, bob_credentials)

    write(alice.page, bob_credentials["username"], "are you there?")

    await until(lambda: texts(bob.page) == ["are you there?"])
    assert senders(bob.page) == [alice_credentials["username"]]
    assert 'class="message own"' not in region(bob.page, "conversation")
    await until(lambda: f"Delivered to {bob_credentials['username']}" in alice.page.text())

    write(bob.page, alice_credentials["username"], "yes")

    await until(lambda: texts(alice.page) == ["yes", "are you there?"])
    assert senders(alice.page) == [bob_credentials["username"], "You"]


async def test_the_delivered_mark_is_per_recipient(open_tab: OpenTab, service: Service) -> None:
    bob, carol = service.new_user(), service.new_user()
    alice = await signed_in(open_tab, service.new_user())
    await signed_in(open_tab, bob)

    write(alice.page, f"{bob['username']}, {carol['username']}", "to you both")

    await until(lambda: f"Delivered to {bob['username']}" in alice.page.text())
    assert f"Sent to {carol['username']}" in alice.page.text()
    assert conversations(alice.page) == [", ".join(sorted([bob["username"], carol["username"]]))]


@pytest.mark.parametrize("failure", ["unknown recipient", "offline"])
async def test_a_send_that_fails_keeps_what_was_typed_and_says_why(
    open_tab: OpenTab, service: Service, failure: str
) -> None:
    alice = await signed_in(open_tab, service.new_user())
    to = "nobody-at-all" if failure == "unknown recipient" else service.new_user()["username"]
    alice.transport.offline = failure == "offline"

    write(alice.page, to, "did this arrive?")

    notice = region(alice.page, "send-notice")
    if failure == "offline":
        assert "Cannot reach the sign-in service." in html.unescape(notice)
    else:
        assert 'No user named "nobody-at-all"' in html.unescape(notice)
    assert 'role="alert"' in notice
    assert alice.page.field("text") == "did this arrive?"
    assert alice.page.field("to") == to
    assert alice.page.view == "signed-in"
    assert alice.page.done[-1] == "messages"

    if failure == "offline":
        alice.transport.offline = False
        alice.page.submit("messages", "send-message")
        assert texts(alice.page) == ["did this arrive?"]
        assert region(alice.page, "send-notice") == ""


@pytest.mark.parametrize(
    ("to", "text", "said"),
    [
        ("", "hello", NO_RECIPIENT),
        (" , ", "hello", NO_RECIPIENT),
        ("bob", "   ", "Write a message"),
    ],
)
async def test_no_recipient_or_a_blank_text_is_said_before_anything_is_sent(
    open_tab: OpenTab, service: Service, to: str, text: str, said: str
) -> None:
    alice = await signed_in(open_tab, service.new_user())
    sent = len(alice.transport.sent)

    write(alice.page, to, text)

    assert said in html.unescape(region(alice.page, "send-notice"))
    assert alice.page.field("text") == text
    assert alice.transport.paths_sent()[sent:] == []


async def test_the_history_shows_conversations_and_messages_newest_first(
    open_tab: OpenTab, service: Service
) -> None:
    alice_credentials, bob, carol = service.new_user(), service.new_user(), service.new_user()
    alice_elsewhere = messenger(service, alice_credentials)
    alice_elsewhere.send_message([bob["username"]], "one")
    alice_elsewhere.send_message([carol["username"]], "two")
    alice_elsewhere.send_message([bob["username"]], "three")

    alice = await signed_in(open_tab, alice_credentials)

    assert conversations(alice.page) == [bob["username"], carol["username"]]
    assert texts(alice.page) == ["three", "one"]  # the newest conversation is open
    assert 'aria-current="true"' in region(alice.page, "conversations")

    alice.page.press("open-conversation", conversation=conversation_id(alice, carol["username"]))

    assert texts(alice.page) == ["two"]
    assert alice.page.field("to") == carol["username"]
    assert "With " + carol["username"] in alice.page.text()


def conversation_id(tab: Tab, other: str) -> str:
    inbox = tab.app.messages.inbox
    assert inbox is not None
    (found,) = [
        thread.conversation_id
        for thread in inbox.conversations()
        if thread.others(inbox.me) == [other]
    ]
    return found


async def test_markup_in_a_message_is_shown_as_text(open_tab: OpenTab, service: Service) -> None:
    bob_credentials = service.new_user()
    bob = await signed_in(open_tab, bob_credentials)
    markup = '<b>x</b><img src=x onerror="document.title=1">'

    messenger(service, service.new_user()).send_message([bob_credentials["username"]], markup)

    await until(lambda: texts(bob.page) == [markup])
    assert "<img" not in bob.page.html
    assert "<b>" not in bob.page.html
    assert "&lt;b&gt;x&lt;/b&gt;&lt;img" in region(bob.page, "conversation")


async def test_messages_that_arrived_while_no_page_was_open_are_marked_delivered_at_load(
    open_tab: OpenTab, service: Service
) -> None:
    bob = service.new_user()
    alice = messenger(service, service.new_user())
    sent = alice.send_message([bob["username"]], "while you were away")

    await signed_in(open_tab, bob)

    history = alice.list_messages(sent.conversation_id).messages
    assert set(history[0].delivered_to) == {bob["username"]}


async def test_a_message_in_another_conversation_marks_that_one_new(
    open_tab: OpenTab, service: Service
) -> None:
    alice_credentials, bob, carol = service.new_user(), service.new_user(), service.new_user()
    alice = await signed_in(open_tab, alice_credentials)
    write(alice.page, bob["username"], "hi bob")

    messenger(service, carol).send_message([alice_credentials["username"]], "psst")

    await until(lambda: conversations(alice.page) == [carol["username"], bob["username"]])
    assert texts(alice.page) == ["hi bob"]  # what was open stays open
    assert f"Open the conversation with {carol['username']}, new messages" in alice.page.buttons()
    assert "psst" in alice.page.text()  # its last message, in the list

    alice.page.press("open-conversation", conversation=conversation_id(alice, carol["username"]))

    assert texts(alice.page) == ["psst"]
    assert f"Open the conversation with {carol['username']}" in alice.page.buttons()


async def test_show_older_messages_reads_the_page_before_the_oldest_shown(
    open_tab: OpenTab, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages_panel, "MESSAGES_SHOWN", 2)
    alice, bob = service.new_user(), service.new_user()
    alice_elsewhere = messenger(service, alice)
    for text in ("first", "second", "third"):
        alice_elsewhere.send_message([bob["username"]], text)

    tab = await signed_in(open_tab, bob)
    assert texts(tab.page) == ["third", "second"]

    tab.page.press("older-messages", conversation=conversation_id(tab, alice["username"]))

    assert texts(tab.page) == ["third", "second", "first"]
    assert "older-messages" not in tab.page.buttons().values()


async def test_the_stream_reconnects_after_a_network_failure_and_loses_and_repeats_nothing(
    open_tab: OpenTab, service: Service
) -> None:
    bob_credentials = service.new_user()
    bob = await signed_in(open_tab, bob_credentials)
    alice = messenger(service, service.new_user())
    alice.send_message([bob_credentials["username"]], "before")
    await until(lambda: texts(bob.page) == ["before"])

    bob.transport.offline = True
    bob.streams.break_connections()
    await until(lambda: "trying again in" in bob.page.text())
    alice.send_message([bob_credentials["username"]], "during 1")
    alice.send_message([bob_credentials["username"]], "during 2")
    bob.transport.offline = False
    bob.page.go_online()

    await until(lambda: texts(bob.page) == ["during 2", "during 1", "before"])
    await until(lambda: LIVE in bob.page.text())
    first, *later = bob.streams.afters()
    assert first is None  # the first connection starts after the newest event
    assert later and all(after is not None and int(after) > 0 for after in later)


async def test_history_shows_while_the_stream_cannot_open_and_nothing_is_lost_once_it_does(
    open_tab: OpenTab, service: Service
) -> None:
    alice, bob = service.new_user(), service.new_user()
    alice_elsewhere = messenger(service, alice)
    alice_elsewhere.send_message([bob["username"]], "before")
    tab = open_tab()
    tab.streams.refused = True

    tab.page.press("sign-in", **bob)

    await until(lambda: texts(tab.page) == ["before"])
    assert "trying again in" in tab.page.text()
    alice_elsewhere.send_message([bob["username"]], "while the stream could not open")
    tab.streams.refused = False
    tab.page.go_online()
    await until(lambda: LIVE in tab.page.text())
    await until(lambda: texts(tab.page) == ["while the stream could not open", "before"])
    alice_elsewhere.send_message([bob["username"]], "live")
    await until(lambda: texts(tab.page)[0] == "live")


async def test_a_silent_stream_is_dropped_and_made_again(
    open_tab: OpenTab, service: Service
) -> None:
    bob = open_tab()
    bob.app.messages.stall_timeout_s = 0.2  # the service pings every 15 s

    bob.page.press("sign-in", **service.new_user())

    await until(lambda: len(bob.streams.requests) >= 3)

    assert len(bob.streams.open_connections()) <= 1
    assert bob.page.view == "signed-in"


async def test_a_session_revoked_from_another_device_ends_the_stream_and_shows_the_login_form(
    open_tab: OpenTab, service: Service
) -> None:
    credentials = service.new_user()
    bob = await signed_in(open_tab, credentials)
    phone = service.client()
    phone.start(credentials)

    phone.terminate(everywhere=True)

    await until(lambda: bob.page.view == "login")
    assert "Your session was ended from another device." in bob.page.text()
    assert not bob.client.is_signed_in
    assert bob.app.messages.following is None
    await until(lambda: bob.streams.open_connections() == [])


async def test_a_stream_ended_by_a_sign_out_in_another_tab_says_so_even_before_the_tab_hears_it(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    credentials = service.new_user()
    first = await signed_in(open_tab, credentials, profile)
    second = await signed_in(open_tab, credentials, profile)
    first.page.storage_listeners.clear()  # its storage event comes late: the stream's end first

    second.page.press("sign-out")

    await until(lambda: first.page.view == "login")
    assert "You signed out in another tab." in first.page.text()
    assert "ended from another device" not in first.page.text()


async def test_a_reconnection_refused_because_the_session_ended_shows_the_login_form(
    open_tab: OpenTab, service: Service
) -> None:
    credentials = service.new_user()
    profile = Profile()
    bob = await signed_in(open_tab, credentials, profile)
    bob.transport.offline = True
    bob.streams.break_connections()
    await until(lambda: "trying again in" in bob.page.text())
    phone = service.client()
    phone.start(credentials)
    phone.terminate(everywhere=True)
    opened = len(bob.streams.requests)

    bob.transport.offline = False
    bob.page.go_online()

    await until(lambda: bob.page.view == "login")
    assert len(bob.streams.requests) == opened + 1  # the stream's own 401, nothing else asked
    assert "Your session was ended from another device." in bob.page.text()
    assert stored(profile, service) is None


async def test_signing_out_closes_the_stream_and_it_is_not_made_again(
    open_tab: OpenTab, service: Service
) -> None:
    bob = await signed_in(open_tab, service.new_user())
    opened = len(bob.streams.requests)

    bob.page.press("sign-out")

    assert bob.page.view == "login"
    assert bob.app.messages.following is None
    await until(lambda: bob.streams.open_connections() == [])
    await asyncio.sleep(0.2)  # longer than the tests' whole backoff
    assert len(bob.streams.requests) == opened


async def test_two_users_in_one_browser_a_session_only_tab_and_a_kept_one(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    alice_credentials, bob_credentials = service.new_user(), service.new_user()
    alice = open_tab()
    alice.page.uncheck("keep-signed-in")
    alice.page.press("sign-in", **alice_credentials)
    bob = open_tab()  # a new tab of the same profile: nothing kept, so it asks to sign in
    assert bob.page.view == "login"
    bob.page.press("sign-in", **bob_credentials)
    await until(lambda: LIVE in alice.page.text() and LIVE in bob.page.text())

    write(alice.page, bob_credentials["username"], "from the tab next door")

    await until(lambda: texts(bob.page) == ["from the tab next door"])
    assert alice_credentials["username"] in alice.page.text()
    reloaded = await signed_in(open_tab, alice_credentials, profile, reload=alice)
    assert reloaded.client.user_id == alice_credentials["username"]
    assert texts(reloaded.page) == ["from the tab next door"]
