"""Durability: users, sessions, used tickets and the server key live in the data directory."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable

from tests.service.helpers import RunningService, assert_error


def test_users_sessions_and_used_tickets_survive_a_restart(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service()
    api = service.api
    api.sign_up(username)
    old = api.sign_in(username).body
    current = api.resume(old).body
    ticket = api.ticket("ticket-" + username)
    by_ticket = api.sign_in_with_ticket(ticket).body

    service.process.restart()

    # Same server key: the rotated-out secret (inside the 10 s grace) derives the same current one.
    assert api.resume(old).body == current
    assert api.resume(current).status == 200
    assert api.me(by_ticket).body["userId"] == "ticket-" + username
    assert_error(api.sign_in_with_ticket(ticket), 401, "invalid_ticket")
    assert_error(api.sign_up(username), 409, "username_taken")
    assert api.sign_in(username).status == 201


def test_revocations_survive_a_restart(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service()
    session = service.api.new_session(username)
    service.api.sign_out(session)

    service.process.restart()

    assert_error(service.api.resume(session), 401, "session_revoked")


def test_the_data_directory_holds_a_wal_sqlite_database_and_a_private_server_key(
    service: RunningService,
) -> None:
    with sqlite3.connect(service.data_dir / "auth.sqlite3") as database:
        (mode,) = database.execute("PRAGMA journal_mode").fetchone()

    assert mode == "wal"
    key_file = service.data_dir / "server.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
