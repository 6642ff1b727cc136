"""The account's own life through the client, over real HTTP: `change_password`,
`reauthenticate`, `sign_out_others`, `delete_account`, their events and errors, a sign-in with a
password the policy now refuses, and a device whose clock is hours off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
from sqlalchemy import update

from authclient import Event, MemoryStorage, SessionClient, errors
from authclient.ec_signer import EcDeviceSigner
from authservice.auth.passwords import ARGON2_MEMORY_KIB, ARGON2_TIME_COST
from authservice.core.settings import Settings
from authservice.database.engine import open_database
from authservice.database.tables import UserRow
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, Stack, running_stack, stored

NEW_PASSWORD = "a brand new passphrase"
COMMON_PASSWORD = "password1234"


@pytest.fixture
def two_devices(make_client: ClientFactory, username: str) -> tuple[SessionClient, SessionClient]:
    laptop, phone = make_client(), make_client()
    laptop.new_user({"username": username, "password": PASSWORD})
    for client in (laptop, phone):
        client.start({"username": username, "password": PASSWORD})
    return laptop, phone


@pytest.fixture
def forgetful_stack(tmp_path: Path) -> Iterator[Stack]:
    """A service that asks for the password again one second after it was given."""
    with running_stack(tmp_path / "auth", reauth_window_s=1) as running:
        yield running


def test_change_password_ends_the_other_devices_and_keeps_this_one_rotated(
    two_devices: tuple[SessionClient, SessionClient], make_client: ClientFactory, username: str
) -> None:
    laptop, phone = two_devices
    before = laptop.get_session()
    events, phone_events = Recorder(laptop), Recorder(phone)

    rotated = laptop.change_password(PASSWORD, NEW_PASSWORD)

    assert before is not None and rotated["sessionId"] == before["sessionId"]
    assert rotated["sessionSecret"] != before["sessionSecret"]
    assert stored(laptop) == rotated
    assert events.events == [Event.PASSWORD_CHANGED]
    assert events.payload(Event.PASSWORD_CHANGED)["session"] == rotated
    assert laptop.who_am_i()["userId"] == username
    with pytest.raises(errors.PasswordChanged):
        phone.who_am_i()
    assert phone.get_session() is None
    assert phone_events.payload(Event.SESSION_REJECTED)["code"] == "password_changed"
    with pytest.raises(errors.InvalidCredentials):
        make_client().start({"username": username, "password": PASSWORD})
    make_client().start({"username": username, "password": NEW_PASSWORD})


def test_a_wrong_current_password_or_a_refused_new_one_changes_nothing(
    signed_in: SessionClient,
) -> None:
    session = signed_in.get_session()

    with pytest.raises(errors.WrongPassword):
        signed_in.change_password("not the password", NEW_PASSWORD)
    with pytest.raises(errors.InvalidRequest) as refused:
        signed_in.change_password(PASSWORD, COMMON_PASSWORD)

    assert refused.value.field == "newPassword"
    assert "common" in refused.value.message
    assert signed_in.get_session() == session
    signed_in.who_am_i()


def test_sign_out_others_keeps_this_device(
    two_devices: tuple[SessionClient, SessionClient],
) -> None:
    laptop, phone = two_devices
    events = Recorder(laptop)

    laptop.sign_out_others()

    assert events.events == [Event.OTHERS_SIGNED_OUT]
    laptop.who_am_i()
    with pytest.raises(errors.SessionRevoked):
        phone.who_am_i()


def test_what_cannot_be_undone_asks_for_the_password_again_and_then_goes_through(
    forgetful_stack: Stack, username: str
) -> None:
    def client() -> SessionClient:
        return SessionClient(forgetful_stack.app.key, forgetful_stack.auth_url)

    laptop, phone = client(), client()
    laptop.new_user({"username": username, "password": PASSWORD})
    for each in (laptop, phone):
        each.start({"username": username, "password": PASSWORD})
    session = laptop.get_session()
    time.sleep(1.2)

    with pytest.raises(errors.ReauthenticationRequired):
        laptop.sign_out_others()
    with pytest.raises(errors.ReauthenticationRequired):
        laptop.terminate(everywhere=True)
    with pytest.raises(errors.ReauthenticationRequired):
        laptop.delete_account()
    assert laptop.get_session() == session and stored(laptop) == session
    with pytest.raises(errors.WrongPassword):
        laptop.reauthenticate("not the password")
    events = Recorder(laptop)

    laptop.reauthenticate(PASSWORD)

    assert events.events == [Event.REAUTHENTICATED]
    assert laptop.terminate(everywhere=True) == "revoked"
    with pytest.raises(errors.SessionRevoked):
        phone.who_am_i()


def test_delete_account_signs_out_here_and_ends_every_other_device(
    two_devices: tuple[SessionClient, SessionClient], make_client: ClientFactory, username: str
) -> None:
    laptop, phone = two_devices
    events = Recorder(laptop)

    laptop.delete_account()

    assert laptop.get_session() is None and stored(laptop) is None
    assert events.events == [Event.SIGNED_OUT]
    assert events.payload(Event.SIGNED_OUT)["reason"] == "account_deleted"
    with pytest.raises(errors.AccountDeleted):
        phone.who_am_i()
    with pytest.raises(errors.InvalidCredentials):
        make_client().start({"username": username, "password": PASSWORD})


def test_a_sign_in_with_a_password_the_policy_now_refuses_says_so_until_it_is_changed(
    stack: Stack, make_client: ClientFactory, username: str
) -> None:
    client = make_client()
    client.new_user({"username": username, "password": PASSWORD})
    hasher = argon2.PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=1
    )
    engine = open_database(
        Settings(data_dir=stack.data_dir, database_url=stack.service.database_url)
    )
    try:
        with engine.begin() as connection:  # an account from before the word was on the list
            connection.execute(
                update(UserRow)
                .where(UserRow.username == username)
                .values(password_hash=hasher.hash(COMMON_PASSWORD))
            )
    finally:
        engine.dispose()
    events = Recorder(client)

    session = client.start({"username": username, "password": COMMON_PASSWORD})

    assert client.password_change_required
    assert events.payload(Event.SIGNED_IN)["password_change_required"] is True
    assert "passwordChangeRequired" not in session and stored(client) == session
    client.change_password(COMMON_PASSWORD, NEW_PASSWORD)
    assert not client.password_change_required


def test_a_device_whose_clock_is_two_hours_ahead_resumes_its_bound_session(
    make_client: ClientFactory, username: str
) -> None:
    device, storage = EcDeviceSigner(), MemoryStorage()
    ahead = make_client(storage=storage, signer=device, clock_s=lambda: time.time() + 2 * 3600)
    ahead.new_user({"username": username, "password": PASSWORD})
    ahead.start({"username": username, "password": PASSWORD})

    assert ahead.who_am_i()["userId"] == username  # a proof refused once, then with the nonce

    next_visit = make_client(storage=storage, signer=device, clock_s=lambda: time.time() + 2 * 3600)
    result = next_visit.resume_stored()
    assert result.outcome == "resumed", result
    assert next_visit.who_am_i()["userId"] == username
