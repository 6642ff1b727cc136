"""The database engine: SQLite in the data directory by default (WAL), or PostgreSQL
(`postgresql+psycopg`), and what differs between the two.

`open_database` is what the service and the application commands use: it refuses a database whose
schema is not this version's (schema_versions.py). `migrate_database` brings it there.
"""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from authservice.core.files import ensure_private_dir, ensure_private_file
from authservice.core.keys import load_server_key
from authservice.core.settings import Settings
from authservice.database.schema_versions import migrate, require_current_schema

__all__ = [
    "SingleStatements",
    "connect_outside_pool",
    "describe_database",
    "migrate_database",
    "one_off_session",
    "open_database",
    "upsert",
]

_BACKENDS = ("sqlite", "postgresql")
# The INSERT of each backend, which takes ON CONFLICT DO NOTHING / DO UPDATE.
_INSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
# How long a connection attempt to PostgreSQL may take before the request fails (503).
_CONNECT_TIMEOUT_S = 5
# A pooled PostgreSQL connection this old is closed and replaced when it is next taken.
_RECYCLE_S = 3600
# The execution option that keeps SQLite's connections out of a transaction (no BEGIN IMMEDIATE).
_NO_BEGIN = "authservice_no_begin"
# How long a SQLite connection waits for another's write lock: a request, briefly; a migration as
# long as another process's migration may take (on PostgreSQL it waits on an advisory lock).
_BUSY_TIMEOUT_MS = 5_000
_MIGRATION_BUSY_TIMEOUT_MS = 120_000


def open_database(settings: Settings) -> Engine:
    """An engine for the configured database; SchemaNotCurrent if it needs migrating first."""
    engine = _connect(settings)
    try:
        require_current_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def one_off_session(settings: Settings) -> Iterator[Session]:
    """A session of its own engine, disposed of afterwards: for a command that runs once (the
    admin commands), not for a server. Objects stay readable after a commit."""
    engine = open_database(settings)
    try:
        with Session(engine, expire_on_commit=False) as db:
            yield db
    finally:
        engine.dispose()


def migrate_database(settings: Settings, revision: str = "head") -> tuple[str | None, str]:
    """Bring the database to this version's schema (or to an older `revision`); (the revision
    before, the revision now). MigrationRefused, with nothing changed, if its data stops a
    migration."""
    # SQLite enforces foreign keys while a migration rebuilds a table: dropping the old copy
    # would cascade into the rows that point at it. PostgreSQL alters tables in place.
    engine = _connect(settings, foreign_keys=False, busy_timeout_ms=_MIGRATION_BUSY_TIMEOUT_MS)
    try:
        return migrate(engine, server_key=load_server_key(settings), revision=revision)
    finally:
        engine.dispose()


class SingleStatements:
    """Connections for statements that are each a transaction of their own: a read, or one write
    that decides alone. On PostgreSQL in autocommit (no BEGIN and no COMMIT: one round trip each);
    on SQLite outside a transaction, so that a read takes no write lock (the engine's BEGIN
    IMMEDIATE would)."""

    def __init__(self, engine: Engine) -> None:
        self._postgresql = engine.dialect.name == "postgresql"
        self._engine = engine if self._postgresql else engine.execution_options(**{_NO_BEGIN: True})

    def __repr__(self) -> str:
        return f"SingleStatements({self._engine.url!r})"

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            if not self._postgresql:
                yield connection
                return
            # Set on psycopg's connection, not through SQLAlchemy's isolation levels: those set
            # the default level back explicitly, and psycopg would then name it in every BEGIN.
            driver: Any = connection.connection.driver_connection
            driver.autocommit = True
            try:
                yield connection
            finally:
                if not driver.closed:
                    driver.autocommit = False


def upsert(db: Session, table: Any) -> Any:
    """An INSERT into `table` for the session's backend, which takes `on_conflict_do_nothing` and
    `on_conflict_do_update` (the same on SQLite and PostgreSQL)."""
    insert = _INSERTS.get(db.get_bind().dialect.name)
    if insert is None:
        raise RuntimeError("the auth service runs on SQLite or PostgreSQL")
    return insert(table)


def connect_outside_pool(settings: Settings, engine: Engine) -> Any:
    """A new psycopg connection to the engine's PostgreSQL database, of its own, in autocommit
    mode: one that waits for notifications (messaging/fanout.py) must not hold a pooled one."""
    import psycopg

    _, options = engine.dialect.create_connect_args(engine.url)
    return psycopg.connect(**options, **_engine_options(settings)["connect_args"], autocommit=True)


def describe_database(engine: Engine) -> str:
    """The database's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _connect(
    settings: Settings, *, foreign_keys: bool = True, busy_timeout_ms: int = _BUSY_TIMEOUT_MS
) -> Engine:
    """The data folder is made private (0700) and a SQLite database file private (0600) before
    SQLite first opens it."""
    ensure_private_dir(settings.data_dir)
    engine = create_engine(settings.database_url or "", **_engine_options(settings))
    if engine.dialect.name not in _BACKENDS:
        engine.dispose()
        raise ValueError(
            f"The auth service runs on SQLite or PostgreSQL (postgresql+psycopg://...), "
            f"not {engine.dialect.name}."
        )
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            ensure_private_file(Path(engine.url.database))
        _configure_sqlite(engine, foreign_keys=foreign_keys, busy_timeout_ms=busy_timeout_ms)
    else:
        _drop_dead_connections(engine)
    return engine


def _engine_options(settings: Settings) -> dict[str, Any]:
    if not (settings.database_url or "").startswith("postgresql"):
        return {}
    return {
        # No liveness ping (a round trip) when a connection is taken from the pool: a local check
        # of its socket instead (_drop_dead_connections), and a connection this old is replaced.
        "pool_recycle": _RECYCLE_S,
        "connect_args": {
            "connect_timeout": _CONNECT_TIMEOUT_S,
            # Shown in pg_stat_activity: which process of which machine holds a connection.
            "application_name": f"authservice {socket.gethostname()} pid {os.getpid()}",
            # Over TCP, a connection whose peer vanished (no FIN) is noticed within about 25 s,
            # and an idle one is not dropped by a firewall or proxy that forgets quiet flows.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        },
    }


def _drop_dead_connections(engine: Engine) -> None:
    """A pooled PostgreSQL connection is checked as it is taken from the pool, without a round
    trip: an idle connection has nothing to read, so a socket that can be read is the server's
    goodbye (a restart, a failover, a terminated backend: it sends its error and closes) or a
    connection the kernel gave up on (the keepalives above). The pool then opens a new connection
    in its place, and the request goes on; a failure of that one is the request's (503).

    Rarely the server says something harmless on an idle connection (a changed setting it reports
    by itself): that connection is replaced all the same, which costs a reconnect, nothing more."""

    driver_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            dead = dbapi_connection.closed or dbapi_connection.broken or _readable(dbapi_connection)
        except driver_error:  # psycopg has no socket for a connection it knows is lost
            dead = True
        if dead:
            raise DisconnectionError("the database closed this connection")


def _readable(dbapi_connection: Any) -> bool:
    descriptor = dbapi_connection.fileno()
    poller = select.poll()  # not select(): descriptors past 1024 (thousands of open streams)
    poller.register(descriptor, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _configure_sqlite(engine: Engine, *, foreign_keys: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below), not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching a new database to WAL waits for the others too.
        for pragma in (
            f"busy_timeout={busy_timeout_ms}",
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"foreign_keys={'ON' if foreign_keys else 'OFF'}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Take the write lock up front: two transactions that read and then write the same
        # session then queue (busy_timeout) instead of one failing with SQLITE_BUSY. Several
        # processes on one database queue the same way. Not for SingleStatements: its
        # statements each run alone (the sqlite3 module begins none: isolation_level None).
        if not connection.get_execution_options().get(_NO_BEGIN):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
