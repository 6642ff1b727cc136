"""Sign-out: terminate() revokes on the server and clears; forget() clears here only. Signing out
while the service cannot be reached: tests/client/test_client_sign_out_offline.py."""

from __future__ import annotations

import json

import pytest

from authclient import Event, MemoryStorage, SessionClient, errors
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, stored


def test_terminate_revokes_on_the_server_clears_storage_and_emits_signed_out(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    session, user_id = signed_in.get_session(), signed_in.user_id
    events = Recorder(signed_in)

    assert signed_in.terminate() == "revoked"

    assert signed_in.get_session() is None and not signed_in.is_signed_in
    assert stored(signed_in) is None
    assert events.seen == [(Event.SIGNED_OUT, {"user_id": user_id, "reason": "terminate"})]
    with pytest.raises(errors.SessionRevoked):
        make_client().start(session)


def test_terminate_of_a_session_already_dead_still_clears(
    make_client: ClientFactory, username: str
) -> None:
    laptop, phone = make_client(), make_client()
    laptop.new_user({"username": username, "password": PASSWORD})
    laptop.start({"username": username, "password": PASSWORD})
    phone.start({"username": username, "password": PASSWORD})
    phone.terminate(everywhere=True)  # revokes the laptop's session too
    events = Recorder(laptop)

    assert laptop.terminate() == "revoked"

    assert laptop.get_session() is None and stored(laptop) is None
    assert events.events == [Event.SIGNED_OUT]


def test_terminate_everywhere_revokes_every_session_of_the_user(
    make_client: ClientFactory, username: str
) -> None:
    laptop, phone = make_client(), make_client()
    laptop.new_user({"username": username, "password": PASSWORD})
    laptop.start({"username": username, "password": PASSWORD})
    phone.start({"username": username, "password": PASSWORD})
    phone.terminate(everywhere=True)
    with pytest.raises(errors.SessionRevoked):
        laptop.who_am_i()


def test_terminate_without_a_session_here_or_in_storage_does_nothing(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    events = Recorder(client)
    assert client.terminate() == "not_signed_in"
    assert events.events == []


def test_forget_clears_local_state_and_storage_without_telling_the_server(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    session, user_id = signed_in.get_session(), signed_in.user_id
    events = Recorder(signed_in)

    signed_in.forget()

    assert signed_in.get_session() is None and stored(signed_in) is None
    assert events.seen == [(Event.SIGNED_OUT, {"user_id": user_id, "reason": "forget"})]
    assert make_client().start(session)["sessionId"] == session["sessionId"]  # still alive


def test_forget_without_a_session_still_clears_storage(make_client: ClientFactory) -> None:
    client = make_client()
    client.storage.set_item(client.storage_key, "whatever")
    events = Recorder(client)
    client.forget()
    assert stored(client) is None and events.events == []


def test_who_am_i_on_a_revoked_session_drops_it(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    other = make_client()
    other.storage.set_item(other.storage_key, json.dumps(signed_in.get_session()))
    assert other.sync_from_storage() == "adopted"
    signed_in.terminate()
    events = Recorder(other)

    with pytest.raises(errors.SessionRevoked):
        other.who_am_i()

    assert other.get_session() is None and stored(other) is None
    assert events.events == [Event.SESSION_REJECTED]


def test_persist_false_sign_out_leaves_storage_alone(
    make_client: ClientFactory, username: str
) -> None:
    storage = MemoryStorage()
    storage.set_item("sinchSession-x", "kept")
    client = make_client(storage=storage, storage_key="sinchSession-x", persist=False)
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    client.terminate()
    assert storage.get_item("sinchSession-x") == "kept"
