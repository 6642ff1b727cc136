"""Purging, on SQLite and PostgreSQL: ended sessions (with their retired secrets), the nonces of
expired tickets and drained limits go; everything live stays. `python -m authservice purge` runs
it once, safely beside other purges; `serve` runs it periodically in every worker."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from authservice import Settings, ensure_application, sign_ticket
from authservice.auth.presented import PresentedSession
from authservice.composition import open_services
from authservice.core.clock import utc_now
from authservice.database.engine import migrate_database, open_database
from authservice.database.purge import PurgeResult, purge_database
from tests.service.conftest import Backend
from tests.service.helpers import RunningService, assert_error

IDLE_S = 2


def count(service: RunningService, query: str) -> int:
    engine = create_engine(service.database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(text(query)) or 0)
    finally:
        engine.dispose()


def test_purges_at_once_delete_what_is_over_once_and_keep_what_is_live(
    backend: Backend, fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(
        database_url=backend.new_database_url(),
        idle_ttl_s=IDLE_S,
        login_attempts_per_user_address=2,
        rate_window_s=IDLE_S,
        purge_interval_s=0,
    )
    api = service.api
    idle = api.resume(api.new_session(username)).body  # ends idle, with one retired secret
    api.sign_in_with_ticket(api.ticket(username, ttl_s=1))  # a session, and a nonce that expires
    assert_error(api.sign_in(username, "not the password at all"), 401, "invalid_credentials")
    time.sleep(IDLE_S + 0.2)  # ...and every limit bucket drains
    signed_out = api.new_session(username)
    api.sign_out(signed_out)
    live = api.new_session(username)  # by a ticket, whose nonce stays
    now = utc_now()  # fixed, so that a slow machine lets nothing else end meanwhile
    limit_rows = count(service, "SELECT count(*) FROM rate_limits")
    nonces = count(service, "SELECT count(*) FROM ticket_nonces")

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: purge(service, now), range(3)))

    assert sum(result.sessions for result in results) == 3  # idle, the ticket's, signed_out
    assert sum(result.ticket_nonces for result in results) == 1
    assert sum(result.rate_limits for result in results) == limit_rows > 0
    assert count(service, "SELECT count(*) FROM ticket_nonces") == nonces - 1
    assert count(service, "SELECT count(*) FROM retired_session_secrets") == 0
    assert_error(api.resume(idle), 401, "session_unknown")
    assert_error(api.me(signed_out), 401, "session_unknown")
    assert api.me(live).status == 200


def purge(service: RunningService, now: datetime) -> PurgeResult:
    engine = open_database(service.process.settings)
    try:
        return purge_database(engine, now)
    finally:
        engine.dispose()


def test_the_purge_command_prints_what_it_deleted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate_database(settings)
    application = ensure_application(settings)
    services = open_services(settings)  # in this process: no server needed to make a session
    try:
        ticket = sign_ticket(application.key, application.secret, "leaving-user")
        session = services.auth.sign_in_with_ticket(application.key, ticket, "127.0.0.1")
        services.auth.sign_out(
            PresentedSession(session.session_id, session.session_secret, "127.0.0.1")
        )
    finally:
        services.close()
    command = [sys.executable, "-m", "authservice", "purge", "--data-dir", str(tmp_path)]

    done = subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "sessions": 1,
        "session_tombstones": 0,
        "ticket_nonces": 0,
        "proof_nonces": 0,
        "rate_limits": 1,  # the ticket's address bucket, poured and taken back
        "skipped": False,
    }


def test_serve_purges_periodically_in_every_worker(
    backend: Backend, fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(
        database_url=backend.new_database_url(), workers=2, purge_interval_s=0.5
    )
    session = service.api.new_session(username)
    service.api.sign_out(session)
    deadline = time.monotonic() + 15

    while count(service, "SELECT count(*) FROM sessions") and time.monotonic() < deadline:
        time.sleep(0.2)

    assert count(service, "SELECT count(*) FROM sessions") == 0
    assert "Purge failed" not in service.process.output
