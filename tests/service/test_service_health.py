"""/v1/health says whether the database answers; the service rides out a PostgreSQL restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import psycopg
import pytest
from sqlalchemy import Engine, Table, insert, literal_column, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from authservice import Settings
from authservice.database.engine import (
    AsyncSingleStatements,
    SingleStatements,
    migrate_database,
    open_database,
)
from authservice.database.tables import ProofNonceRow
from harness.postgres import PostgresCluster
from tests.service.helpers import Api, Reply, RunningService, assert_error
from tests.support.loops import run_coroutine


@pytest.fixture
def stopped_later(postgres_cluster: PostgresCluster) -> Iterator[PostgresCluster]:
    """The shared cluster, for a test that stops it: running again afterwards, whatever happens."""
    yield postgres_cluster
    if not postgres_cluster.running:
        postgres_cluster.start()


def wait_for_health(api: Api, status: int, timeout_s: float = 20) -> Reply:
    deadline = time.monotonic() + timeout_s
    while True:
        reply = api.request("GET", "/v1/health")
        if reply.status == status or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def test_health_is_503_while_postgresql_is_down_and_every_worker_recovers_when_it_is_back(
    stopped_later: PostgresCluster,
    fresh_service: Callable[..., RunningService],
    username: str,
) -> None:
    service = fresh_service(database_url=stopped_later.create_database(), workers=2)
    api = service.api
    session = api.new_session(username)

    stopped_later.stop()
    down = api.request("GET", "/v1/health")
    resume_while_down = api.resume(session)
    stopped_later.start()
    back = wait_for_health(api, 200)

    assert_error(down, 503, "database_unavailable")
    assert down.headers["retry-after"] == "5"
    assert_error(resume_while_down, 503, "database_unavailable")  # the client keeps the session
    assert back.status == 200 and back.body == {"status": "ok"}
    # Every pooled connection of every worker died with the server: none fails a request.
    assert {api.request("GET", "/v1/health").status for _ in range(20)} == {200}
    assert api.resume(session).status == 200
    assert "Traceback" not in service.process.output


def test_connections_the_server_ended_are_replaced_without_failing_a_request(
    postgres_cluster: PostgresCluster,
    fresh_service: Callable[..., RunningService],
    username: str,
) -> None:
    url = postgres_cluster.create_database()
    service = fresh_service(database_url=url)
    api = service.api
    sessions = [api.new_session(f"{username}-{n}") for n in range(3)]
    assert all(api.me(session).status == 200 for session in sessions)  # pooled connections now

    # What a restart, a failover or an administrator does to the pooled connections: their
    # backends end, each telling its client so and closing.
    with psycopg.connect(_libpq(url), autocommit=True) as admin:
        backends = admin.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        for (pid,) in backends:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    assert backends
    # No request pays for it: each dead connection is noticed as it is taken, and replaced.
    assert [api.me(session).status for session in sessions for _ in range(3)] == [200] * 9
    assert api.request("GET", "/v1/health").status == 200
    assert "unavailable" not in service.process.output


def test_a_hot_path_statement_run_on_the_driver_fails_as_sqlalchemy_would_say(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_cluster.create_database())
    with _migrated(settings) as engine:
        statements = SingleStatements(engine)
        with statements.statements() as run:
            # A unique violation is the IntegrityError the fast paths catch (a spent proof).
            insert = text("INSERT INTO proof_nonces (jti, expires_at) VALUES ('x', now())")
            assert run.first(insert, {}) is None  # no rows to answer
            with pytest.raises(IntegrityError):
                run.first(insert, {})
            # A connection that breaks mid-statement: an OperationalError (the API's 503), the
            # connection thrown away rather than handed out again.
            with pytest.raises(OperationalError) as broken:
                run.first(select(literal_column("pg_terminate_backend(pg_backend_pid())")), {})
            assert broken.value.connection_invalidated
        with statements.statements() as run:
            assert run.first(select(literal_column("1").label("one")), {}).one == 1


def test_a_hot_path_statement_on_sqlite_converts_as_sqlalchemy_would(tmp_path: Path) -> None:
    nonces = cast(Table, ProofNonceRow.__table__)
    expires = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    with _migrated(Settings(data_dir=tmp_path)) as engine:
        with SingleStatements(engine).statements() as run:
            with run.transaction():
                assert run.first(insert(nonces), {"jti": "z", "expires_at": expires}) is None
            with pytest.raises(IntegrityError), run.transaction():
                run.first(insert(nonces), {"jti": "z", "expires_at": expires})
            read = select(nonces.c.jti, nonces.c.expires_at).where(nonces.c.jti == "z")
            row = run.first(read, {})
        # Stored as SQLAlchemy stores it (UTC text on SQLite), read back as an aware UTC time.
        assert (row.jti, row.expires_at, row.expires_at.tzinfo) == ("z", expires, UTC)
        with engine.connect() as connection:
            assert connection.execute(read).one().expires_at == expires


def test_the_event_loops_hot_path_statements_fail_as_sqlalchemy_would_say(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_cluster.create_database())
    backend = select(literal_column("pg_backend_pid()").label("pid"))

    async def use(statements: AsyncSingleStatements) -> None:
        assert not statements.in_this_loop()
        statements.open()
        assert statements.in_this_loop()
        async with statements.statements() as run:
            insert = text("INSERT INTO proof_nonces (jti, expires_at) VALUES ('y', now())")
            assert await run.first(insert, {}) is None
            with pytest.raises(IntegrityError):
                await run.first(insert, {})
            first_backend = (await run.first(backend, {})).pid
        async with statements.statements() as run:  # the same connection: it ended normally
            assert (await run.first(backend, {})).pid == first_backend
            with pytest.raises(OperationalError) as broken:
                await run.first(
                    select(literal_column("pg_terminate_backend(pg_backend_pid())")), {}
                )
            assert broken.value.connection_invalidated
        async with statements.statements() as run:  # a new one, not the broken one
            assert (await run.first(backend, {})).pid != first_backend
        await statements.close()
        assert not statements.in_this_loop()

    with _migrated(settings) as engine:
        run_coroutine(use(AsyncSingleStatements(settings, engine)))


@contextmanager
def _migrated(settings: Settings) -> Iterator[Engine]:
    """The settings' database, migrated and opened; disposed of afterwards."""
    migrate_database(settings)
    engine = open_database(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
