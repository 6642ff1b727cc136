""" "Keep me signed in": start(..., keep_signed_in=True) keeps the session in `storage` (a page's
localStorage), False in `tab_storage` (its sessionStorage), under the same key; a resume looks in
both, the tab's own first, and keeps the rotated session where it found it."""

from __future__ import annotations

import json

from authclient import MemoryStorage, SessionClient, storage_key_for
from tests.client.helpers import PASSWORD, ClientFactory


def a_tab(make_client: ClientFactory, lasting: MemoryStorage, tab: MemoryStorage) -> SessionClient:
    """A page load in a tab: the profile's lasting storage, the tab's own storage."""
    return make_client(storage=lasting, tab_storage=tab)


def sign_up(client: SessionClient, username: str) -> dict[str, str]:
    credentials = {"username": username, "password": PASSWORD}
    client.new_user(credentials)
    return credentials


def test_not_kept_the_session_is_saved_for_the_tab_only_under_the_same_key(
    make_client: ClientFactory, username: str
) -> None:
    lasting, tab = MemoryStorage(), MemoryStorage()
    client = a_tab(make_client, lasting, tab)

    session = client.start(sign_up(client, username), keep_signed_in=False)

    assert json.loads(tab.get_item(storage_key_for(client.application_key))) == session
    assert lasting.get_item(client.storage_key) is None


def test_not_kept_a_new_tab_needs_to_sign_in_and_a_reload_of_the_tab_resumes(
    make_client: ClientFactory, username: str
) -> None:
    lasting, tab = MemoryStorage(), MemoryStorage()
    first = a_tab(make_client, lasting, tab)
    first.start(sign_up(first, username), keep_signed_in=False)

    new_tab = a_tab(make_client, lasting, MemoryStorage()).resume_stored()
    reloaded = a_tab(make_client, lasting, tab)
    result = reloaded.resume_stored()

    assert (new_tab.outcome, new_tab.reason) == ("login_needed", "no_session")
    assert result.outcome == "resumed"
    # The rotated session stays where the user put it.
    assert json.loads(tab.get_item(reloaded.storage_key)) == result.session
    assert lasting.get_item(reloaded.storage_key) is None


def test_kept_a_new_tab_resumes(make_client: ClientFactory, username: str) -> None:
    lasting = MemoryStorage()
    first = a_tab(make_client, lasting, MemoryStorage())
    first.start(sign_up(first, username), keep_signed_in=True)

    new_tab = a_tab(make_client, lasting, MemoryStorage())
    result = new_tab.resume_stored()

    assert result.outcome == "resumed"
    assert json.loads(lasting.get_item(new_tab.storage_key)) == result.session


def test_the_tab_s_own_session_comes_first(make_client: ClientFactory, username: str) -> None:
    lasting, tab = MemoryStorage(), MemoryStorage()
    credentials = sign_up(make_client(), username)
    a_tab(make_client, lasting, MemoryStorage()).start(credentials, keep_signed_in=True)
    mine = a_tab(make_client, lasting, tab).start(credentials, keep_signed_in=False)

    result = a_tab(make_client, lasting, tab).resume_stored()

    assert result.session["sessionId"] == mine["sessionId"]


def test_signing_out_of_a_tab_s_session_leaves_the_kept_one_of_other_tabs_alone(
    make_client: ClientFactory, username: str
) -> None:
    lasting, tab = MemoryStorage(), MemoryStorage()
    credentials = sign_up(make_client(), username)
    kept = a_tab(make_client, lasting, MemoryStorage()).start(credentials)
    this_tab = a_tab(make_client, lasting, tab)
    this_tab.start(credentials, keep_signed_in=False)

    assert this_tab.terminate() == "revoked"

    assert tab.get_item(this_tab.storage_key) is None
    assert json.loads(lasting.get_item(this_tab.storage_key)) == kept


def test_without_a_tab_storage_a_session_not_kept_lives_in_this_client_only(
    make_client: ClientFactory, username: str
) -> None:
    lasting = MemoryStorage()
    client = make_client(storage=lasting)

    client.start(sign_up(client, username), keep_signed_in=False)

    assert client.is_signed_in
    assert lasting.get_item(client.storage_key) is None
    assert client.who_am_i()["userId"] == username
