"""Signing out while the service cannot be reached: terminate() signs out on the device at once, and
the revocation waits in storage (only what it needs, under its own key) until the service answers."""

from __future__ import annotations

import json

import pytest

from authclient import Event, MemoryStorage, SessionClient, errors, pending_revocations_key
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, Stack, stored


def offline_tab(tab: SessionClient, offline_url: str) -> SessionClient:
    """Another tab over the same storage whose service cannot be reached; it holds the session."""
    other = SessionClient(tab.application_key, offline_url + "/v1", storage=tab.storage)
    assert other.sync_from_storage() == "adopted"
    return other


def waiting(client: SessionClient) -> object:
    raw = client.storage.get_item(pending_revocations_key(client.storage_key))
    return None if raw is None else json.loads(raw)


def test_signing_out_while_unreachable_clears_everything_at_once_and_says_it_is_pending(
    signed_in: SessionClient, closed_port_url: str
) -> None:
    session, user_id = signed_in.get_session(), signed_in.user_id
    tab = offline_tab(signed_in, closed_port_url)
    events = Recorder(tab)

    outcome = tab.terminate()

    assert outcome == "pending"
    assert tab.get_session() is None and not tab.is_signed_in
    assert stored(tab) is None
    assert events.seen == [(Event.SIGNED_OUT, {"user_id": user_id, "reason": "terminate"})]
    # Only what revocation needs: no expiry, no user, no application.
    assert waiting(tab) == [
        {
            "sessionId": session["sessionId"],
            "sessionSecret": session["sessionSecret"],
            "everywhere": False,
        }
    ]


def test_a_waiting_sign_out_is_sent_once_the_service_answers_and_then_forgotten(
    signed_in: SessionClient, closed_port_url: str, make_client: ClientFactory
) -> None:
    session = signed_in.get_session()
    offline_tab(signed_in, closed_port_url).terminate()
    next_load = make_client(storage=signed_in.storage)

    assert next_load.send_pending_revocations() == "revoked"

    assert waiting(next_load) is None
    with pytest.raises(errors.SessionRevoked):
        make_client().start(session)
    assert next_load.send_pending_revocations() == "none"


def test_a_waiting_sign_out_stays_while_the_service_gives_no_answer(
    signed_in: SessionClient, closed_port_url: str, canned_server, make_client: ClientFactory
) -> None:
    tab = offline_tab(signed_in, closed_port_url)
    tab.terminate()
    before = waiting(tab)
    busy = canned_server(503, json_body={"error": "busy", "message": "Busy."})

    still_offline = SessionClient(tab.application_key, closed_port_url + "/v1", storage=tab.storage)
    assert still_offline.send_pending_revocations() == "pending"
    overloaded = make_client(auth_url=busy + "/v1", storage=tab.storage)
    assert overloaded.send_pending_revocations() == "pending"

    assert waiting(tab) == before


def test_a_waiting_sign_out_of_a_session_that_ended_meanwhile_is_moot_and_dropped(
    signed_in: SessionClient, closed_port_url: str, make_client: ClientFactory
) -> None:
    session = signed_in.get_session()
    offline_tab(signed_in, closed_port_url).terminate()
    elsewhere = make_client()
    elsewhere.start(session)  # rotates it: the waiting secret is now a rotated-out one
    elsewhere.terminate()

    next_load = make_client(storage=signed_in.storage)

    assert next_load.send_pending_revocations() == "revoked"
    assert waiting(next_load) is None


def test_signing_out_everywhere_while_unreachable_revokes_every_session_once_back(
    make_client: ClientFactory, username: str, closed_port_url: str
) -> None:
    laptop, phone = make_client(), make_client()
    laptop.new_user({"username": username, "password": PASSWORD})
    laptop.start({"username": username, "password": PASSWORD})
    phone.start({"username": username, "password": PASSWORD})

    assert offline_tab(laptop, closed_port_url).terminate(everywhere=True) == "pending"
    assert waiting(laptop)[0]["everywhere"] is True
    assert make_client(storage=laptop.storage).send_pending_revocations() == "revoked"

    with pytest.raises(errors.SessionRevoked):
        phone.who_am_i()


def test_a_session_the_page_could_not_resume_is_signed_out_from_storage_too(
    signed_in: SessionClient, closed_port_url: str, make_client: ClientFactory
) -> None:
    session = signed_in.get_session()
    unreachable = SessionClient(
        signed_in.application_key, closed_port_url + "/v1", storage=signed_in.storage
    )
    assert unreachable.resume_stored().outcome == "unreachable"
    events = Recorder(unreachable)

    assert unreachable.terminate() == "pending"

    assert stored(unreachable) is None
    assert events.events == [Event.SIGNED_OUT]
    assert make_client(storage=signed_in.storage).send_pending_revocations() == "revoked"
    with pytest.raises(errors.SessionRevoked):
        make_client().start(session)


def test_signing_out_again_while_still_offline_keeps_both_sign_outs_waiting(
    make_client: ClientFactory, username: str, closed_port_url: str
) -> None:
    first = make_client()
    first.new_user({"username": username, "password": PASSWORD})
    first.start({"username": username, "password": PASSWORD})
    offline_tab(first, closed_port_url).terminate()
    second = make_client(storage=first.storage)
    second.start({"username": username, "password": PASSWORD})

    offline_tab(second, closed_port_url).terminate()

    assert len(waiting(first)) == 2
    assert make_client(storage=first.storage).send_pending_revocations() == "revoked"
    assert waiting(first) is None


def test_garbage_under_the_sign_out_key_is_dropped_without_a_request(
    closed_port_url: str,
) -> None:
    client = SessionClient("app_123", closed_port_url + "/v1")
    client.storage.set_item(pending_revocations_key(client.storage_key), '[{"sessionId": 1}]')

    assert client.send_pending_revocations() == "none"
    assert waiting(client) is None


class NoRoomForSignOuts(MemoryStorage):
    """Storage that is full by the time a sign-out would be saved."""

    def set_item(self, key: str, value: str) -> None:
        if key.endswith(":pendingSignOut"):
            raise OSError("QuotaExceededError")
        super().set_item(key, value)


def test_a_sign_out_that_storage_refuses_waits_in_memory_and_is_still_sent(
    own_stack: Stack, username: str
) -> None:
    client = SessionClient(
        own_stack.app.key, own_stack.auth_url, storage=NoRoomForSignOuts(), timeout_s=5
    )
    client.new_user({"username": username, "password": PASSWORD})
    session = client.start({"username": username, "password": PASSWORD})
    own_stack.service.stop()

    assert client.terminate() == "pending"
    assert stored(client) is None and waiting(client) is None

    own_stack.service.restart()
    assert client.send_pending_revocations() == "revoked"
    with pytest.raises(errors.SessionRevoked):
        SessionClient(own_stack.app.key, own_stack.auth_url).start(session)
