"""The account's own life over HTTP, on SQLite and PostgreSQL: a password change, re-authentication
before what cannot be undone, signing the other devices out, deleting the account, and a sign-in
with a password the policy now refuses (docs/api.md, "The account")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import argon2
import pytest
from sqlalchemy import Engine, MetaData, select, update

from authservice.auth.passwords import ARGON2_MEMORY_KIB, ARGON2_TIME_COST
from authservice.core.clock import utc_now
from authservice.core.settings import Settings
from authservice.database.engine import open_database
from authservice.database.purge import purge_database
from authservice.database.tables import UserRow
from tests.service.conftest import QUIET_LIMITS
from tests.service.devices import Device, proved
from tests.service.helpers import PASSWORD, Api, Reply, RunningService, assert_error
from tests.service.streams import EventStream
from tests.service.test_service_messaging import sent

NEW_PASSWORD = "a brand new passphrase"
COMMON_PASSWORD = "password1234"  # long enough, and on the list of common passwords
END_S = 2.0  # an ended session's stream hears it within this


def signed_up(api: Api, username: str, sessions: int = 1) -> list[dict[str, Any]]:
    """A user with a password, signed in on `sessions` devices."""
    assert api.sign_up(username).status == 201
    replies = [api.sign_in(username) for _ in range(sessions)]
    assert all(reply.status == 201 for reply in replies), replies
    return [dict(reply.body) for reply in replies]


@pytest.fixture
def database(backend_service: RunningService) -> Iterator[Engine]:
    """The backend service's database, read and written behind its back."""
    settings = Settings(
        data_dir=backend_service.data_dir, database_url=backend_service.database_url
    )
    engine = open_database(settings)
    yield engine
    engine.dispose()


# -- a password change -----------------------------------------------------------------------


def test_a_password_change_ends_every_other_session_and_rotates_this_one(
    backend_api: Api, username: str
) -> None:
    this, other = signed_up(backend_api, username, sessions=2)

    changed = backend_api.change_password(this, PASSWORD, NEW_PASSWORD)

    assert changed.status == 200, changed
    assert changed.body["sessionId"] == this["sessionId"]
    assert changed.body["sessionSecret"] != this["sessionSecret"]
    assert "passwordChangeRequired" not in changed.body
    assert backend_api.me(changed.body).status == 200
    for ended in (backend_api.me(other), backend_api.resume(other)):
        assert_error(ended, 401, "password_changed")
    assert_error(backend_api.sign_in(username, PASSWORD), 401, "invalid_credentials")
    assert backend_api.sign_in(username, NEW_PASSWORD).status == 201


@pytest.mark.parametrize(
    "new_password",
    ["too short", COMMON_PASSWORD, "{username}"],
    ids=["too short", "common", "the username"],
)
def test_a_new_password_is_held_to_the_sign_up_policy_with_its_sentences(
    api: Api, username: str, new_password: str
) -> None:
    (session,) = signed_up(api, username)
    new_password = new_password.format(username=username)

    refused = api.change_password(session, PASSWORD, new_password)

    assert_error(refused, 400, "invalid_request")
    assert refused.body["field"] == "newPassword"
    probe = username + "-probe"
    at_sign_up = api.sign_up(probe, probe if new_password == username else new_password)
    assert_error(at_sign_up, 400, "invalid_request")
    assert at_sign_up.body["message"] == refused.body["message"]
    assert api.sign_in(username, PASSWORD).status == 201


def test_a_wrong_current_password_counts_as_a_failed_sign_in_and_changes_nothing(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    api = fresh_service(login_attempts_per_user_address=2, **QUIET_LIMITS).api
    (session,) = signed_up(api, username)

    for _ in range(2):
        assert_error(
            api.change_password(session, "not the password", NEW_PASSWORD), 403, "wrong_password"
        )

    assert_error(api.change_password(session, PASSWORD, NEW_PASSWORD), 429, "rate_limited")
    assert_error(api.reauthenticate(session), 429, "rate_limited")
    assert_error(api.sign_in(username), 429, "rate_limited")
    assert api.me(session).status == 200


def test_of_two_password_changes_at_once_one_wins_and_the_other_is_refused(
    backend_api: Api, username: str
) -> None:
    sessions = signed_up(backend_api, username, sessions=2)
    new_passwords = [NEW_PASSWORD + " one", NEW_PASSWORD + " two"]
    start = threading.Barrier(2)

    def change(which: int) -> Reply:
        start.wait()
        return backend_api.change_password(sessions[which], PASSWORD, new_passwords[which])

    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(change, range(2)))

    statuses = sorted(reply.status for reply in replies)
    assert statuses[0] == 200 and statuses[1] in (401, 403), replies
    winner = 0 if replies[0].status == 200 else 1
    loser = replies[1 - winner]
    assert loser.error in ("wrong_password", "password_changed"), loser
    assert backend_api.sign_in(username, new_passwords[winner]).status == 201
    for refused in (PASSWORD, new_passwords[1 - winner]):
        assert_error(backend_api.sign_in(username, refused), 401, "invalid_credentials")
    assert_error(backend_api.me(sessions[1 - winner]), 401, "password_changed")


def test_a_password_change_racing_a_resume_on_another_device_ends_that_device(
    backend_api: Api, username: str
) -> None:
    this, other = signed_up(backend_api, username, sessions=2)
    start = threading.Barrier(2)

    def change() -> Reply:
        start.wait()
        return backend_api.change_password(this, PASSWORD, NEW_PASSWORD)

    def resume() -> Reply:
        start.wait()
        return backend_api.resume(other)

    with ThreadPoolExecutor(2) as pool:
        changing, resuming = pool.submit(change), pool.submit(resume)
        changed, resumed = changing.result(), resuming.result()

    assert changed.status == 200, changed
    if resumed.status == 200:  # it came first: what it was given has ended since
        other = resumed.body
    else:
        assert_error(resumed, 401, "password_changed")
    assert_error(backend_api.resume(other), 401, "password_changed")
    assert backend_api.me(changed.body).status == 200


def test_an_open_stream_of_another_session_ends_when_the_password_is_changed(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    this, other = signed_up(api, username, sessions=2)
    with EventStream(backend_service.process.url, other) as stream:
        assert stream.next_event().kind == "ready"

        assert api.change_password(this, PASSWORD, NEW_PASSWORD).status == 200

        end = stream.next_event(END_S)
        assert (end.kind, end.data["error"]) == ("end", "password_changed")
        assert stream.closes_within(END_S)


# -- recent authentication -------------------------------------------------------------------


def test_what_cannot_be_undone_needs_the_password_given_again_in_this_session(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    api = fresh_service(reauth_window_s=1, **QUIET_LIMITS).api
    this, other = signed_up(api, username, sessions=2)
    time.sleep(1.2)

    for refused in (
        api.revoke_others(this),
        api.revoke_all(this),
        api.revoke_session(this, other["sessionId"]),
        api.delete_account(this),
    ):
        assert_error(refused, 403, "reauthentication_required")
    assert api.me(this).status == 200 and api.me(other).status == 200
    assert_error(api.reauthenticate(this, "not the password"), 403, "wrong_password")
    assert_error(api.revoke_others(this), 403, "reauthentication_required")

    assert api.reauthenticate(this).status == 204
    assert api.revoke_others(this).status == 204

    assert_error(api.me(other), 401, "session_revoked")
    assert api.me(this).status == 200
    time.sleep(1.2)
    assert api.revoke_session(this, this["sessionId"]).status == 204  # signing itself out: no


def test_a_ticket_sign_in_counts_as_a_recent_authentication(api: Api, username: str) -> None:
    this, other = (api.new_session(username) for _ in range(2))

    assert api.revoke_others(this).status == 204

    assert_error(api.me(other), 401, "session_revoked")
    assert api.me(this).status == 200


def test_signing_the_other_devices_out_keeps_this_one_and_no_one_else_s(
    backend_api: Api, username: str
) -> None:
    this, other = (backend_api.new_session(username) for _ in range(2))
    someone_else = backend_api.new_session(username + "-else")

    assert backend_api.revoke_others(this).status == 204

    assert_error(backend_api.resume(other), 401, "session_revoked")
    assert backend_api.resume(this).status == 200
    assert backend_api.me(someone_else).status == 200


def test_a_bound_session_proves_its_key_to_re_authenticate_and_to_delete_the_account(
    api: Api, username: str
) -> None:
    device = Device()
    assert api.sign_up(username).status == 201
    signed_in = api.post(
        "/v1/sessions",
        {"applicationKey": api.application.key, "username": username, "password": PASSWORD}
        | {"deviceKey": device.jwk()},
    )
    assert signed_in.status == 201, signed_in
    session = signed_in.body
    path = "/v1/sessions/current/reauthenticate"

    assert_error(api.reauthenticate(session), 401, "proof_required")
    with_proof = api.request(
        "POST",
        path,
        json_body={"password": PASSWORD},
        headers={
            "Authorization": f"Bearer {session['sessionId']}.{session['sessionSecret']}",
            **proved(device.proof("POST", path, session)),
        },
    )
    assert with_proof.status == 204, with_proof
    assert with_proof.headers["session-proof-nonce"]
    assert_error(api.delete_account(session), 401, "proof_required")


# -- deleting the account --------------------------------------------------------------------


def test_deleting_an_account_leaves_nothing_that_names_the_user(
    backend_service: RunningService, database: Engine, username: str
) -> None:
    api = backend_service.api
    leaver, stayer = f"{username}-leaver", f"{username}-stayer"
    (bob,) = signed_up(api, stayer)
    alice, alice_phone = signed_up(api, leaver, sessions=2)
    assert_error(api.sign_in(leaver, "not the password"), 401, "invalid_credentials")
    to_bob = sent(api.send_message(alice, [bob["userId"]], "from alice, for bob"))
    to_alice = sent(api.send_message(bob, [alice["userId"]], "from bob, for alice"))
    assert api.mark_delivered(alice, [to_alice["id"]]).status == 204
    assert api.mark_delivered(bob, [to_bob["id"]]).status == 204
    with database.connect() as connection:
        alice_row = connection.execute(
            select(UserRow.id).where(UserRow.username == leaver)
        ).scalar_one()
    subjects_before = _subjects(database)

    with EventStream(backend_service.process.url, alice_phone) as stream:
        assert stream.next_event().kind == "ready"
        assert api.delete_account(alice).status == 204
        end = stream.next_event(END_S)
        assert (end.kind, end.data["error"]) == ("end", "account_deleted")

    for session in (alice, alice_phone):
        assert_error(api.me(session), 401, "account_deleted")
        assert_error(api.resume(session), 401, "account_deleted")
    _assert_nothing_names(
        database,
        user_row=alice_row,
        texts=[leaver, alice["sessionId"], alice_phone["sessionId"]],
    )
    # Alice's sign-in buckets and her send limit went; nobody else's.
    subjects_after = _subjects(database)
    gone = {subject for subject in subjects_before if subject not in subjects_after}
    assert len(gone) == 2, (subjects_before, subjects_after)
    assert_error(api.sign_in(leaver), 401, "invalid_credentials")


def test_the_others_keep_a_deleted_account_s_messages_from_no_one(
    backend_api: Api, username: str
) -> None:
    alice, bob, carol = (backend_api.new_session(f"{username}-{name}") for name in ("a", "b", "c"))
    said = sent(backend_api.send_message(alice, [bob["userId"], carol["userId"]], "hello both"))
    assert backend_api.delete_account(alice).status == 204

    (conversation,) = backend_api.list_conversations(bob).body["conversations"]
    history = backend_api.list_messages(carol, said["conversationId"]).body["messages"]

    assert conversation["participants"] == sorted([bob["userId"], carol["userId"]])
    assert conversation["deletedAccounts"] == 1
    assert [(message["from"], message["text"]) for message in history] == [(None, "hello both")]
    assert history[0]["to"] == sorted([bob["userId"], carol["userId"]])
    # The conversation stays the one it was, with its deleted account: bob and carol alone
    # are another set of people, who write in a conversation of their own.
    reply = sent(backend_api.send_message(bob, [carol["userId"]], "just us"))
    assert reply["conversationId"] != said["conversationId"]
    assert len(backend_api.list_conversations(carol).body["conversations"]) == 2


def test_a_new_account_of_a_deleted_user_s_name_sees_nothing_of_the_old_one(
    backend_api: Api, username: str
) -> None:
    old, bob = (backend_api.new_session(f"{username}-{name}") for name in ("a", "b"))
    said = sent(backend_api.send_message(old, [bob["userId"]], "before"))
    assert backend_api.delete_account(old).status == 204

    new = backend_api.new_session(f"{username}-a")

    assert backend_api.list_conversations(new).body["conversations"] == []
    assert_error(
        backend_api.list_messages(new, said["conversationId"]), 404, "no_such_conversation"
    )
    again = sent(backend_api.send_message(new, [bob["userId"]], "after"))
    assert again["conversationId"] != said["conversationId"]
    assert again["from"] == f"{username}-a"


def test_what_tells_a_deleted_account_s_pages_goes_when_its_sessions_would_have_ended(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(session_ttl_s=5, **QUIET_LIMITS)
    session = service.api.new_session(username)
    assert service.api.delete_account(session).status == 204
    engine = open_database(Settings(data_dir=service.data_dir, database_url=service.database_url))
    try:
        early = purge_database(engine, utc_now())
        late = purge_database(engine, utc_now() + timedelta(seconds=6))
    finally:
        engine.dispose()

    assert (early.session_tombstones, late.session_tombstones) == (0, 1)
    assert_error(service.api.me(session), 401, "session_unknown")


# -- a password the policy now refuses -------------------------------------------------------


def test_a_sign_in_with_a_password_the_policy_now_refuses_asks_for_a_new_one(
    backend_api: Api, database: Engine, username: str
) -> None:
    assert backend_api.sign_up(username).status == 201
    hasher = argon2.PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=1
    )
    with database.begin() as connection:  # an account from before the word was on the list
        connection.execute(
            update(UserRow)
            .where(UserRow.username == username)
            .values(password_hash=hasher.hash(COMMON_PASSWORD))
        )

    signed_in = backend_api.sign_in(username, COMMON_PASSWORD)

    assert signed_in.status == 201, signed_in
    assert signed_in.body["passwordChangeRequired"] is True
    changed = backend_api.change_password(signed_in.body, COMMON_PASSWORD, NEW_PASSWORD)
    assert changed.status == 200, changed
    assert "passwordChangeRequired" not in backend_api.sign_in(username, NEW_PASSWORD).body


# -- reading the database --------------------------------------------------------------------


def _assert_nothing_names(engine: Engine, *, user_row: int, texts: list[str]) -> None:
    """No column that refers to users holds `user_row`, and no text anywhere holds any of
    `texts`: every table, every row."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            user_columns = {
                column.name
                for column in table.columns
                if any(key.column.table.name == "users" for key in column.foreign_keys)
            }
            if table.name == "users":
                user_columns.add("id")
            for row in connection.execute(select(table)).mappings():
                for name, value in row.items():
                    assert not (name in user_columns and value == user_row), (table.name, row)
                    if isinstance(value, str):
                        assert not any(text in value for text in texts), (table.name, row)


def _subjects(engine: Engine) -> dict[str, set[str]]:
    """The rate-limit buckets that are about someone (a username, a user), by whom."""
    metadata = MetaData()
    metadata.reflect(engine, only=["rate_limits"])
    table = metadata.tables["rate_limits"]
    about: dict[str, set[str]] = {}
    with engine.connect() as connection:
        for bucket, subject in connection.execute(
            select(table.c.bucket, table.c.subject).where(table.c.subject.is_not(None))
        ):
            about.setdefault(subject, set()).add(bucket)
    return about
