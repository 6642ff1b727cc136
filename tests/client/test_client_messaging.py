"""Messages from the client (authclient.messaging) against the real service: send, history,
receipts, and the live stream read through urllib."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from authclient import Event, MemoryStorage, Messenger, SessionClient, errors
from authclient.ec_signer import EcDeviceSigner
from authclient.messaging import Delivery, Message, StreamCursor, StreamEvent
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, stored
from tests.support.accounts import new_username

LIVE_S = 2.0  # the bound from a send to the recipient's screen


def user(make_client: ClientFactory, **kwargs: Any) -> SessionClient:
    client = make_client(**kwargs)
    name = new_username()
    client.new_user({"username": name, "password": PASSWORD})
    client.start({"username": name, "password": PASSWORD})
    return client


class Listener:
    """A stream read by a thread of its own, its events in a queue."""

    def __init__(self, messenger: Messenger, after: int | None = None) -> None:
        self.events: queue.Queue[StreamEvent | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(messenger, after), daemon=True)
        self._thread.start()

    def _read(self, messenger: Messenger, after: int | None) -> None:
        try:
            for event in messenger.open_stream(after):
                self.events.put(event)
        except BaseException as exc:  # handed to the test, which raises it
            self.events.put(exc)

    def next(self, timeout_s: float = LIVE_S) -> StreamEvent:
        item = self.events.get(timeout=timeout_s)
        if isinstance(item, BaseException):
            raise item
        return item

    def next_value(self, timeout_s: float = LIVE_S) -> Message | Delivery:
        event = self.next(timeout_s)
        value = StreamCursor().take(event)
        assert isinstance(value, Message | Delivery), event
        return value

    def join(self) -> None:
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def alice(make_client: ClientFactory) -> Iterator[SessionClient]:
    client = user(make_client)
    yield client
    if client.is_signed_in:
        client.terminate()  # ends its streams: their threads stop


@pytest.fixture
def bob(make_client: ClientFactory) -> Iterator[SessionClient]:
    client = user(make_client)
    yield client
    if client.is_signed_in:
        client.terminate()


def test_a_message_reaches_the_history_of_both_users(
    alice: SessionClient, bob: SessionClient
) -> None:
    sent = Messenger(alice).send_message(bob.user_id or "", "<b>hello</b> & bye")

    assert (sent.sender, sent.recipients, sent.text) == (
        alice.user_id,
        (bob.user_id,),
        "<b>hello</b> & bye",
    )
    assert sent.delivered_to == {}
    for reader in (alice, bob):
        page = Messenger(reader).list_conversations()
        assert [c.conversation_id for c in page.conversations] == [sent.conversation_id]
        assert page.conversations[0].last_message == sent
        assert Messenger(reader).list_messages(sent.conversation_id).messages == (sent,)


def test_history_is_newest_first_in_pages(alice: SessionClient, bob: SessionClient) -> None:
    messenger = Messenger(alice)
    sent = [messenger.send_message([bob.user_id or ""], f"message {n}") for n in range(5)]
    conversation = sent[0].conversation_id

    first = messenger.list_messages(conversation, limit=2)
    second = messenger.list_messages(conversation, limit=2, before=first.messages[-1].message_id)
    last = messenger.list_messages(conversation, limit=2, before=second.messages[-1].message_id)

    pages = [*first.messages, *second.messages, *last.messages]
    assert [m.text for m in pages] == [f"message {n}" for n in reversed(range(5))]
    assert (first.more, second.more, last.more) == (True, True, False)


def test_recipients_typed_as_one_string_make_one_conversation(
    alice: SessionClient, bob: SessionClient, make_client: ClientFactory
) -> None:
    carol = user(make_client)
    messenger = Messenger(alice)

    one = messenger.send_message(f"{bob.user_id}, {carol.user_id}", "one")
    two = messenger.send_message(f" {carol.user_id}  {bob.user_id} ", "two")

    assert one.conversation_id == two.conversation_id
    assert set(one.recipients) == {bob.user_id, carol.user_id}
    carol.terminate()


def test_unknown_recipients_are_named_and_nothing_is_lost(
    alice: SessionClient, bob: SessionClient
) -> None:
    with pytest.raises(errors.UnknownRecipients) as raised:
        Messenger(alice).send_message([bob.user_id or "", "nobody-here-1", "nobody-here-2"], "hi")

    assert list(raised.value.usernames) == ["nobody-here-1", "nobody-here-2"]
    assert "nobody-here-1" in str(raised.value)
    assert alice.is_signed_in and stored(alice) is not None
    assert Messenger(bob).list_conversations().conversations == ()


@pytest.mark.parametrize("text", ["", "   \n", "x" * 2001])
def test_a_text_the_service_would_refuse_is_refused_before_sending(
    alice: SessionClient, bob: SessionClient, text: str
) -> None:
    with pytest.raises(errors.InvalidArgument):
        Messenger(alice).send_message(bob.user_id or "", text)
    assert Messenger(bob).list_conversations().conversations == ()


def test_the_stream_brings_messages_live_and_receipts_back_to_the_sender(
    alice: SessionClient, bob: SessionClient
) -> None:
    to_alice, to_bob = Listener(Messenger(alice)), Listener(Messenger(bob))
    assert to_alice.next().kind == "ready"
    assert to_bob.next().kind == "ready"

    sent_at = time.monotonic()
    sent = Messenger(alice).send_message(bob.user_id or "", "are you there?")
    received = to_bob.next_value()
    assert time.monotonic() - sent_at < LIVE_S
    assert received == sent
    assert to_alice.next_value() == sent  # the echo: the sender's other tabs see it too

    Messenger(bob).mark_delivered([received.message_id])
    receipt = to_alice.next_value()
    assert receipt == Delivery(
        sent.message_id, sent.conversation_id, bob.user_id or "", receipt.delivered_at
    )
    history = Messenger(alice).list_messages(sent.conversation_id).messages
    assert set(history[0].delivered_to) == {bob.user_id}


def test_a_new_connection_after_the_last_event_loses_and_repeats_nothing(
    alice: SessionClient, bob: SessionClient
) -> None:
    cursor = StreamCursor()
    first = Listener(Messenger(bob))
    cursor.take(first.next())
    Messenger(alice).send_message(bob.user_id or "", "before")
    cursor.take(first.next())
    bob_other_device = stored(bob)
    assert bob_other_device is not None

    # Meanwhile three more arrive; the next connection starts after the last one seen.
    sent = [Messenger(alice).send_message(bob.user_id or "", f"while away {n}") for n in range(3)]
    again = Listener(Messenger(bob), after=cursor.after)
    assert again.next().kind == "ready"
    assert [again.next_value() for _ in sent] == sent
    with pytest.raises(queue.Empty):
        again.next(timeout_s=0.3)


def test_signing_out_elsewhere_ends_the_stream_and_drops_the_session(
    bob: SessionClient, make_client: ClientFactory
) -> None:
    recorder = Recorder(bob)
    listener = Listener(Messenger(bob))
    assert listener.next().kind == "ready"
    other_device = make_client()
    other_device.start({"username": bob.user_id, "password": PASSWORD})
    other_device.revoke_session(bob.get_session()["sessionId"])  # type: ignore[index]

    end = listener.next()
    listener.join()
    assert (end.kind, end.data["error"]) == ("end", "session_revoked")
    assert not bob.is_signed_in
    assert Event.SESSION_REJECTED in recorder.events


def test_a_revoked_session_cannot_open_the_stream(
    bob: SessionClient, make_client: ClientFactory
) -> None:
    other_device = make_client()
    other_device.start({"username": bob.user_id, "password": PASSWORD})
    other_device.revoke_session(bob.get_session()["sessionId"])  # type: ignore[index]

    with pytest.raises(errors.SessionRejected):
        next(iter(Messenger(bob).open_stream()))
    assert not bob.is_signed_in


def test_a_stream_that_cannot_connect_keeps_the_session(
    make_client: ClientFactory, closed_port_url: str, bob: SessionClient
) -> None:
    away = make_client(storage=bob.storage, auth_url=closed_port_url + "/v1")
    away.sync_from_storage()

    with pytest.raises(errors.NetworkError):
        next(iter(Messenger(away).open_stream()))
    assert away.is_signed_in
    assert stored(bob) is not None


def test_bound_sessions_prove_their_key_on_every_messaging_call(
    make_client: ClientFactory, bob: SessionClient
) -> None:
    device = EcDeviceSigner()
    alice = user(make_client, signer=device)
    listener = Listener(Messenger(alice))
    assert listener.next().kind == "ready"

    sent = Messenger(alice).send_message(bob.user_id or "", "signed")
    assert listener.next_value() == sent
    assert Messenger(alice).list_messages(sent.conversation_id).messages == (sent,)

    # A copy of the session object without the key can do nothing with it.
    copied = MemoryStorage()
    copied.set_item(alice.storage_key, json.dumps(alice.get_session()))
    copy = make_client(storage=copied)
    copy.sync_from_storage()
    with pytest.raises(errors.ProofRejected):
        Messenger(copy).send_message(bob.user_id or "", "stolen")
    alice.terminate()
    listener.join()
