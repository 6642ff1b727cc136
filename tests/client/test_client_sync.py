"""sync_from_storage(): follow what another tab did to the stored session."""

from __future__ import annotations

import json
import logging

import pytest

from authclient import Event, SessionClient
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, made_up_session, stored


def second_tab(tab: SessionClient) -> SessionClient:
    """Another tab of the same page: same storage, its own client."""
    return SessionClient(tab.application_key, tab.auth_url, storage=tab.storage)


def test_sign_out_in_another_tab_signs_out_here_without_a_server_call(
    signed_in: SessionClient,
) -> None:
    other = second_tab(signed_in)
    assert other.resume_stored().outcome == "resumed"
    assert signed_in.sync_from_storage() == "adopted"
    user_id = signed_in.user_id
    events = Recorder(signed_in)

    other.terminate()

    assert signed_in.sync_from_storage() == "signed_out"
    assert signed_in.get_session() is None
    assert events.seen == [(Event.SIGNED_OUT, {"user_id": user_id, "reason": "storage"})]


def test_rotation_by_another_tab_is_adopted_silently(signed_in: SessionClient) -> None:
    events = Recorder(signed_in)
    other = second_tab(signed_in)
    rotated = other.resume_stored().session

    assert signed_in.sync_from_storage() == "adopted"

    assert signed_in.get_session() == rotated == stored(signed_in)
    assert events.events == [Event.SESSION_UPDATED]
    assert events.payload(Event.SESSION_UPDATED) == {"session": rotated, "source": "storage"}
    # The adopted secret is the current one: the server accepts it.
    assert signed_in.who_am_i()["sessionId"] == rotated["sessionId"]


def test_sign_in_in_another_tab_is_adopted_by_a_signed_out_tab(
    make_client: ClientFactory, username: str
) -> None:
    waiting = make_client()
    other = second_tab(waiting)
    other.new_user({"username": username, "password": PASSWORD})
    session = other.start({"username": username, "password": PASSWORD})

    assert waiting.sync_from_storage() == "adopted"
    assert waiting.get_session() == session


def test_garbage_written_by_another_tab_is_ignored(
    signed_in: SessionClient, caplog: pytest.LogCaptureFixture
) -> None:
    session = signed_in.get_session()
    signed_in.storage.set_item(signed_in.storage_key, "{not json")
    events = Recorder(signed_in)
    with caplog.at_level(logging.WARNING, logger="authclient"):
        assert signed_in.sync_from_storage() == "ignored"
    assert signed_in.get_session() == session
    assert signed_in.storage.get_item(signed_in.storage_key) == "{not json"
    assert events.events == []


def test_an_older_session_in_storage_is_ignored(signed_in: SessionClient) -> None:
    session = signed_in.get_session()
    older = made_up_session(signed_in.application_key, createdAt="2020-01-01T00:00:00Z")
    signed_in.storage.set_item(signed_in.storage_key, json.dumps(older))
    assert signed_in.sync_from_storage() == "ignored"
    assert signed_in.get_session() == session


def test_the_same_session_is_unchanged(signed_in: SessionClient) -> None:
    events = Recorder(signed_in)
    assert signed_in.sync_from_storage() == "unchanged"
    assert events.events == []


def test_nothing_stored_and_nothing_held_is_unchanged(make_client: ClientFactory) -> None:
    assert make_client().sync_from_storage() == "unchanged"


def test_with_persist_false_storage_changes_are_ignored(signed_in: SessionClient) -> None:
    tab = SessionClient(
        signed_in.application_key, signed_in.auth_url, storage=signed_in.storage, persist=False
    )
    assert tab.sync_from_storage() == "ignored"
    assert tab.get_session() is None
