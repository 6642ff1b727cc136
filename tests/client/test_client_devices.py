"""Your devices from the client: list_sessions() and revoke_session(session_id)."""

from __future__ import annotations

import json

import pytest

from authclient import SessionClient, errors
from tests.client.helpers import PASSWORD, ClientFactory, stored


@pytest.fixture
def laptop_and_phone(
    make_client: ClientFactory, username: str
) -> tuple[SessionClient, SessionClient]:
    laptop, phone = make_client(), make_client()
    laptop.new_user({"username": username, "password": PASSWORD})
    laptop.start({"username": username, "password": PASSWORD})
    phone.start({"username": username, "password": PASSWORD})
    return laptop, phone


def test_the_list_shows_this_device_and_the_others_without_a_secret(
    laptop_and_phone: tuple[SessionClient, SessionClient],
) -> None:
    laptop, phone = laptop_and_phone

    devices = laptop.list_sessions()

    by_id = {device["sessionId"]: device for device in devices}
    assert set(by_id) == {laptop.get_session()["sessionId"], phone.get_session()["sessionId"]}
    assert by_id[laptop.get_session()["sessionId"]]["current"] is True
    assert by_id[phone.get_session()["sessionId"]]["current"] is False
    # urllib's User-Agent, named by the service.
    assert {device["device"] for device in devices} == {"Python app"}
    text = json.dumps(devices)
    assert laptop.get_session()["sessionSecret"] not in text
    assert phone.get_session()["sessionSecret"] not in text


def test_signing_another_device_out_ends_its_session_only(
    laptop_and_phone: tuple[SessionClient, SessionClient],
) -> None:
    laptop, phone = laptop_and_phone

    laptop.revoke_session(phone.get_session()["sessionId"])

    with pytest.raises(errors.SessionRevoked):
        phone.who_am_i()
    assert phone.get_session() is None
    assert [device["current"] for device in laptop.list_sessions()] == [True]


def test_another_user_s_session_is_no_such_session_and_this_one_is_kept(
    laptop_and_phone: tuple[SessionClient, SessionClient], make_client: ClientFactory
) -> None:
    laptop, _ = laptop_and_phone
    stranger = make_client()
    stranger.new_user({"username": "other-" + laptop.user_id, "password": PASSWORD})
    stranger.start({"username": "other-" + laptop.user_id, "password": PASSWORD})

    with pytest.raises(errors.NoSuchSession):
        laptop.revoke_session(stranger.get_session()["sessionId"])

    assert laptop.is_signed_in
    assert stranger.who_am_i()["userId"] == stranger.user_id


def test_naming_this_device_signs_it_out(
    laptop_and_phone: tuple[SessionClient, SessionClient],
) -> None:
    laptop, phone = laptop_and_phone

    laptop.revoke_session(laptop.get_session()["sessionId"])

    assert laptop.get_session() is None and stored(laptop) is None
    assert [device["current"] for device in phone.list_sessions()] == [True]


def test_a_tab_lists_with_the_secret_another_tab_rotated_and_does_not_revoke_its_session(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    stale = make_client(storage=signed_in.storage)
    stale.sync_from_storage()
    signed_in.refresh_session()  # another tab rotates the secret

    assert [device["current"] for device in stale.list_sessions()] == [True]

    assert stale.get_session() == signed_in.get_session()
    assert signed_in.who_am_i()["userId"] == signed_in.user_id


def test_listing_needs_a_session(make_client: ClientFactory) -> None:
    with pytest.raises(errors.NotSignedIn):
        make_client().list_sessions()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sessions": "none"},
        {"sessions": [{"sessionId": "ses_1"}]},
        {"sessions": [{"sessionId": 1, "device": "x", "createdAt": "t", "lastUsedAt": "t"}]},
    ],
)
def test_a_malformed_list_is_an_unexpected_response(
    body: dict, canned_server, make_client: ClientFactory, signed_in: SessionClient
) -> None:
    url = canned_server(200, json_body=body)
    client = make_client(auth_url=url + "/v1", storage=signed_in.storage)
    client.sync_from_storage()

    with pytest.raises(errors.UnexpectedResponse):
        client.list_sessions()
    assert client.is_signed_in
