"""How many statements one request sends to the database: a resume, a `GET /v1/me`, a health probe,
a message sent and its delivery receipt; and what idle message streams read.

Each statement is a round trip to PostgreSQL (and a call into SQLite), so these tests state the
count of today's code, statement by statement: a change that adds one fails here and must say so
by changing the count (a change that removes one, too, and lowers it). They are counted where the
database sees them, whatever sends them (SQLAlchemy, the driver, the pool): in PostgreSQL's own log
(`log_statement = all`, this database only), and in SQLite through the trace callback of every
connection the service's engine opens.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from authservice import Settings, create_app, ensure_application
from authservice.database.engine import migrate_database
from harness.postgres import PostgresCluster
from tests.service.conftest import Backend
from tests.service.devices import Device, bound_session, proved
from tests.service.helpers import Api, bearer, serve_in_thread
from tests.service.streams import EventStream

# A statement in PostgreSQL's log: a simple query, or the execution of a parsed one.
_LOGGED = re.compile(r"LOG:\s+(?:statement|execute [^:]*):\s*(.*)")


class StatementCounter:
    """The statements the service sends inside `counting()`, by their first word."""

    def __init__(self, settings: Settings, app: Any, cluster: PostgresCluster | None) -> None:
        self._cluster = cluster
        self._seen: list[str] = []
        self._counting = False
        if cluster is None:
            engine = app.state.services.engine
            event.listen(engine, "connect", self._trace_sqlite)
            engine.dispose()  # every connection from now on is traced

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        counted: list[str] = []
        if self._cluster is not None:
            log = self._cluster.log_file
            start = log.stat().st_size
            yield counted
            with log.open("rb") as file:
                file.seek(start)
                lines = file.read().decode(errors="replace").splitlines()
            counted += [found[1] for line in lines if (found := _LOGGED.search(line))]
        else:
            self._seen.clear()
            self._counting = True
            try:
                yield counted
            finally:
                self._counting = False
            counted += self._seen
        counted[:] = [_first_word(statement) for statement in counted]

    def _trace_sqlite(self, connection: sqlite3.Connection, _record: Any) -> None:
        connection.set_trace_callback(self._sqlite_statement)

    def _sqlite_statement(self, statement: str) -> None:
        if self._counting:
            self._seen.append(statement)


def _first_word(statement: str) -> str:
    words = statement.strip().split()
    return " ".join(words[:2]) if words[:1] in (["BEGIN"], ["DEALLOCATE"]) else words[0]


# The ping interval of the service whose streams are counted.
_PING_S = 0.5


@pytest.fixture
def counted_service(backend: Backend, tmp_path: Path) -> Iterator[tuple[Api, Callable[[], Any]]]:
    """The service in this process on the backend's database (a new one), with its statements
    counted: (the API, `counting`)."""
    url = backend.cluster.create_database(log_statements=True) if backend.cluster else None
    settings = Settings(
        data_dir=tmp_path, database_url=url, purge_interval_s=0, stream_ping_interval_s=_PING_S
    )
    migrate_database(settings)
    application = ensure_application(settings)
    app = create_app(settings)
    counter = StatementCounter(settings, app, backend.cluster)
    with serve_in_thread(app) as base_url:
        yield Api(base_url, application), counter.counting


def test_one_resume_sends_one_statement_on_postgresql_and_one_transaction_on_sqlite(
    counted_service: tuple[Api, Callable[[], Any]], backend: Backend, username: str
) -> None:
    api, counting = counted_service
    session = api.resume(api.new_session(username)).body  # the pool has a connection now

    with counting() as statements:
        reply = api.resume(session)

    assert reply.status == 200
    if backend.cluster:
        # In autocommit: the session checked and rotated, the retired secret kept, all in one
        # statement (UPDATE ... RETURNING feeding an INSERT). No liveness ping first: the pool
        # checks a connection without a round trip.
        assert statements == ["WITH"]
    else:
        assert statements == ["BEGIN IMMEDIATE", "UPDATE", "INSERT", "COMMIT"]


def test_on_postgresql_the_common_case_runs_on_the_event_loops_own_connections(
    counted_service: tuple[Api, Callable[[], Any]], backend: Backend, username: str
) -> None:
    if backend.cluster is None:
        pytest.skip("on SQLite every statement runs in a thread")
    api, _ = counted_service
    session = api.new_session(username)  # the full path: a sign-in, in a thread

    resumed = api.resume(session)
    resumed_by = _last_statements(backend.cluster)
    assert api.me(resumed.body).status == 200

    # Without a thread hop: async psycopg in the server's event loop, on connections named so.
    assert resumed.status == 200
    assert [query.split()[0] for query in resumed_by.values()] == ["WITH"]
    assert all(name.endswith(" event loop") for name in resumed_by)
    assert [query.split()[0] for query in _last_statements(backend.cluster).values()] == ["SELECT"]


def _last_statements(cluster: PostgresCluster) -> dict[str, str]:
    """The last statement of each connection to PostgreSQL of the event loop of the service this
    process serves (counted_service), by application name."""
    url = make_url(cluster.url("postgres")).set(drivername="postgresql", database=None)
    with psycopg.connect(url.render_as_string(hide_password=False)) as admin:
        rows = admin.execute(
            "SELECT application_name, query FROM pg_stat_activity WHERE application_name LIKE %s",
            [f"authservice % pid {os.getpid()} event loop"],
        ).fetchall()
    return dict(rows)


def test_a_resume_with_the_secret_rotated_out_last_tries_one_statement_then_the_full_path(
    counted_service: tuple[Api, Callable[[], Any]], backend: Backend, username: str
) -> None:
    api, counting = counted_service
    session = api.new_session(username)
    assert api.resume(session).status == 200

    with counting() as statements:
        reply = api.resume(session)  # a second tab, within the grace window

    assert reply.status == 200
    # The common case's statement matches nothing; the full path locks the session with its
    # user and application, finds the secret retired, and writes nothing.
    if backend.cluster:
        assert statements == ["WITH", "BEGIN", "SELECT", "SELECT", "COMMIT"]
    else:
        assert statements == [
            *("BEGIN IMMEDIATE", "UPDATE", "COMMIT"),
            *("BEGIN IMMEDIATE", "SELECT", "SELECT", "COMMIT"),
        ]


def test_who_am_i_sends_one_read_outside_a_transaction(
    counted_service: tuple[Api, Callable[[], Any]], username: str
) -> None:
    api, counting = counted_service
    session = api.new_session(username)
    assert api.me(session).status == 200  # its last use is recorded now, not again for a minute

    with counting() as statements:
        reply = api.me(session)

    assert reply.status == 200
    assert statements == ["SELECT"]


def test_a_bound_session_resumes_in_a_read_of_its_key_and_one_statement(
    counted_service: tuple[Api, Callable[[], Any]], backend: Backend, username: str
) -> None:
    api, counting = counted_service
    device = Device()
    session = bound_session(api, username, device)
    proof = proved(device.proof("POST", "/v1/sessions/resume", session))

    with counting() as statements:
        reply = api.post("/v1/sessions/resume", session, headers=proof)

    assert reply.status == 200, reply
    # The key read to check the proof; then the rotation, the retired secret and the proof's
    # `jti` spent, in one statement (in one transaction on SQLite).
    if backend.cluster:
        assert statements == ["SELECT", "WITH"]
    else:
        assert statements == [
            *("SELECT", "BEGIN IMMEDIATE", "UPDATE", "INSERT", "INSERT", "COMMIT")
        ]


def test_who_am_i_with_a_bound_session_reads_it_and_spends_the_proof(
    counted_service: tuple[Api, Callable[[], Any]], username: str
) -> None:
    api, counting = counted_service
    device = Device()
    session = bound_session(api, username, device)

    def me() -> int:
        headers = bearer(session) | proved(device.proof("GET", "/v1/me", session))
        return api.request("GET", "/v1/me", headers=headers).status

    assert me() == 200  # its last use is recorded now, not again for a minute
    with counting() as statements:
        assert me() == 200

    assert statements == ["SELECT", "INSERT"]


def test_a_health_probe_sends_one_query_and_keeps_the_prepared_statements(
    counted_service: tuple[Api, Callable[[], Any]], username: str
) -> None:
    api, counting = counted_service
    session = api.new_session(username)
    for _ in range(6):  # psycopg prepares a statement on its fifth execution
        assert api.me(session).status == 200

    with counting() as statements:
        reply = api.request("GET", "/v1/health")

    assert reply.status == 200
    # Outside a transaction: no ROLLBACK, after which psycopg would send DEALLOCATE ALL.
    assert statements == ["SELECT"]


def test_a_message_sent_and_its_receipt_check_the_session_in_one_statement_then_use_the_orm(
    counted_service: tuple[Api, Callable[[], Any]], backend: Backend, username: str
) -> None:
    api, counting = counted_service
    alice, bob = api.new_session(f"{username}-a"), api.new_session(f"{username}-b")
    for session in (alice, bob):  # their last use is recorded now, not again for a minute
        assert api.me(session).status == 200
    assert api.send_message(alice, [f"{username}-b"], "first").status == 201

    with counting() as sent:
        reply = api.send_message(alice, [f"{username}-b"], "hello")
    assert reply.status == 201, reply
    with counting() as received:
        assert api.mark_delivered(bob, [reply.body["message"]["id"]]).status == 204

    # The session checked in one statement; then, in one transaction, the caller's user row
    # locked (FOR SHARE), and for a send: the send limit (in a savepoint), the recipients, the
    # conversation made or found and locked, the message, its participants' last message, its
    # delivery, both mailboxes and their events; for a receipt: the deliveries, their senders,
    # the delivery marked, the sender's mailbox and its event. On PostgreSQL the streams are woken
    # by a NOTIFY (SELECT pg_notify) in the transaction. Still the ORM: issue 26 left these.
    begin, notify = ("BEGIN", ["SELECT"]) if backend.cluster else ("BEGIN IMMEDIATE", [])
    assert sent == [
        *("SELECT", begin, "SELECT", "SAVEPOINT", "INSERT", "RELEASE", "SELECT"),
        *("INSERT", "SELECT", "INSERT", "UPDATE", "INSERT", "INSERT", "INSERT", "INSERT"),
        *("INSERT", *notify, "COMMIT"),
    ]
    assert received == [
        *("SELECT", begin, "SELECT", "SELECT", "SELECT", "UPDATE", "INSERT", "INSERT"),
        *(*notify, "COMMIT"),
    ]


def test_idle_streams_only_ping_and_are_checked_together_in_two_reads(
    counted_service: tuple[Api, Callable[[], Any]], username: str
) -> None:
    api, counting = counted_service
    sessions = [api.new_session(f"{username}-{n}") for n in range(6)]
    with ExitStack() as open_streams:
        streams = [open_streams.enter_context(EventStream(api.base_url, s)) for s in sessions]
        for stream in streams:  # each has read once after `ready` by its first ping
            assert [stream.next_event(pings=True).kind for _ in "12"] == ["ready", "ping"]

        with counting() as statements:
            started = time.monotonic()
            for stream in streams:
                for _ in range(2):
                    assert stream.next_event(pings=True).kind == "ping"
            checks = (time.monotonic() - started) / _PING_S + 1

    # Per check, whatever the number of streams: which of their sessions have ended, and how far
    # their mailboxes have got. Each alone, outside a transaction; no stream reads by itself.
    assert statements, "no check within two ping intervals"
    assert statements == ["SELECT", "SELECT"] * (len(statements) // 2)
    assert len(statements) // 2 <= checks
