"""The database engine: SQLite in the data directory by default (WAL), or PostgreSQL
(`postgresql+psycopg`), and what differs between the two.

`open_database` is what the service and the application commands use: it refuses a database whose
schema is not this version's (schema_versions.py). `migrate_database` brings it there.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import time
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ClauseElement,
    Connection,
    Dialect,
    Engine,
    Executable,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session

from authservice.core.files import ensure_private_dir, ensure_private_file
from authservice.core.keys import load_server_key
from authservice.core.settings import Settings
from authservice.database.schema_versions import migrate, require_current_schema

__all__ = [
    "AsyncSingleStatements",
    "AsyncStatements",
    "SingleStatements",
    "Statements",
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
# How many connections of its own the event loop's hot paths keep (AsyncSingleStatements), beside
# the engine's pool (5, and 10 more while it is busy): a request waits for one beyond these.
_LOOP_CONNECTIONS = 5
# What Statements.transaction sends.
_BEGIN, _BEGIN_IMMEDIATE, _COMMIT, _ROLLBACK = (
    text(sql) for sql in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
)
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
        self._compiled = _CompiledStatements(engine.dialect)

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

    @contextmanager
    def statements(self) -> Iterator[Statements]:
        """A connection as `connect` gives, for the hot paths' statements (see Statements)."""
        with self.connect() as connection:
            yield Statements(connection, self._compiled)
            connection.commit()  # SQLite: nothing to commit; PostgreSQL: autocommit


class Statements:
    """Core statements run on one connection of SingleStatements, for the hot paths (a resume, a
    session check: auth/fast_paths.py).

    Each statement is compiled by SQLAlchemy once, then run on the driver's own cursor (psycopg's,
    sqlite3's): SQLAlchemy's work per execution (its events, the compiled cache, result
    processing) cost 0.33 ms of a 0.52 ms session check on PostgreSQL, the statement's round trip
    included, and 0.33 of 0.36 on SQLite (docs/performance.md). What SQLAlchemy would do is done
    here instead (_CompiledStatements): the statement's default parameters filled in, each value
    converted by its column type's own processors (on SQLite a time is text), the driver's errors
    raised as SQLAlchemy's (IntegrityError, and OperationalError, which the API answers with 503),
    and a connection that broke invalidated so that the pool replaces it. Rows are named tuples,
    read by column name as SQLAlchemy's are."""

    def __init__(self, connection: Connection, compiled: _CompiledStatements) -> None:
        self._connection = connection
        self._compiled = compiled

    def __repr__(self) -> str:
        return f"Statements({self._connection.dialect.name})"

    def first(self, statement: Executable, parameters: dict[str, Any]) -> Any | None:
        """The first row of the statement's answer, or None (a statement that answers no rows,
        too)."""
        sql, values, row = self._compiled.prepare(statement, parameters)
        driver: Any = self._connection.connection.driver_connection
        cursor = driver.cursor()
        try:
            cursor.execute(sql, values)
            return row(cursor.fetchone()) if row is not None else None
        except self._compiled.driver_error as error:
            raised = self._compiled.as_sqlalchemy_error(error, driver, sql, values)
            if raised.connection_invalidated:
                self._connection.invalidate(error)
            raise raised from error
        finally:
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The statements run inside, in one transaction: on SQLite it takes the write lock at
        once, as the engine's transactions do (BEGIN IMMEDIATE: _configure_sqlite)."""
        begin = _BEGIN_IMMEDIATE if self._connection.dialect.name == "sqlite" else _BEGIN
        self.first(begin, {})
        try:
            yield
        except BaseException:
            self.first(_ROLLBACK, {})
            raise
        self.first(_COMMIT, {})


class AsyncSingleStatements:
    """SingleStatements' statements on PostgreSQL, run in the server's event loop by async psycopg,
    on connections of its own (at most _LOOP_CONNECTIONS, opened as needed, in autocommit, named
    "... event loop" in pg_stat_activity): no thread hop and no trip through SQLAlchemy's pool,
    which cost about 0.45 ms of a `GET /v1/me` (docs/performance.md). Each connection is checked
    as it is taken, as the engine's pool checks its own (_drop_dead_connections), and replaced
    after _RECYCLE_S.

    Usable only in the event loop it was opened in: the server's lifespan opens it (`open`) and
    closes it. Anywhere else (a test client's loop, an app mounted where no lifespan reaches it)
    `in_this_loop` says no and the caller runs SingleStatements in a thread instead."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        _, options = engine.dialect.create_connect_args(engine.url)
        connect_args = _engine_options(settings)["connect_args"]
        self._connect_options = {
            **options,
            **connect_args,
            "application_name": f"{connect_args['application_name']} event loop",
        }
        self._compiled = _CompiledStatements(engine.dialect)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(_LOOP_CONNECTIONS)
        self._idle: list[tuple[float, Any]] = []  # (when it was opened, the connection)

    def __repr__(self) -> str:
        return f"AsyncSingleStatements(open={self._loop is not None}, idle={len(self._idle)})"

    def open(self) -> None:
        """Serve the running event loop from now on."""
        self._loop = asyncio.get_running_loop()
        # A semaphore belongs to the first loop that waits on it: each loop served gets its own.
        self._slots = asyncio.Semaphore(_LOOP_CONNECTIONS)

    async def close(self) -> None:
        self._loop = None
        idle, self._idle = self._idle, []
        for _, connection in idle:
            await connection.close()

    def in_this_loop(self) -> bool:
        try:
            return self._loop is asyncio.get_running_loop()
        except RuntimeError:  # no loop running: a thread
            return False

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[AsyncStatements]:
        """A connection for statements as SingleStatements' are. It goes back to the others
        only if what was done with it ended normally: after an error of any kind (a broken
        connection, a cancelled request mid-statement) it is closed."""
        async with self._slots:
            opened_at, connection = await self._take()
            try:
                yield AsyncStatements(connection, self._compiled)
            except BaseException:
                await connection.close()
                raise
            self._idle.append((opened_at, connection))

    async def _take(self) -> tuple[float, Any]:
        while self._idle:
            opened_at, connection = self._idle.pop()
            if time.monotonic() - opened_at < _RECYCLE_S and not _dead(connection):
                return opened_at, connection
            await connection.close()
        import psycopg  # PostgreSQL's driver: only where it is in use

        try:
            connection = await psycopg.AsyncConnection.connect(
                **self._connect_options, autocommit=True
            )
        except psycopg.Error as error:
            raise self._compiled.as_sqlalchemy_error(error, None, None, None) from error
        return time.monotonic(), connection


class AsyncStatements:
    """Statements on one connection of AsyncSingleStatements: Statements' PostgreSQL path, with
    psycopg's async cursor."""

    def __init__(self, connection: Any, compiled: _CompiledStatements) -> None:
        self._connection = connection
        self._compiled = compiled

    def __repr__(self) -> str:
        return "AsyncStatements()"

    async def first(self, statement: Executable, parameters: dict[str, Any]) -> Any | None:
        """The first row of the statement's answer, or None (a statement that answers no rows,
        too)."""
        sql, values, row = self._compiled.prepare(statement, parameters)
        try:
            async with self._connection.cursor() as cursor:
                await cursor.execute(sql, values)
                return row(await cursor.fetchone()) if row is not None else None
        except self._compiled.driver_error as error:
            raised = self._compiled.as_sqlalchemy_error(error, self._connection, sql, values)
            raise raised from error


class _CompiledStatements:
    """Statements compiled once for a dialect, to run on its driver's cursors: what SQLAlchemy
    does per execution, done with the statement's compiled form and its types' own processors,
    and what SQLAlchemy would make of the driver's errors."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[int, tuple[Executable, _Compiled]] = {}

    @property
    def driver_error(self) -> type[Exception]:
        error: type[Exception] = self._dialect.loaded_dbapi.Error
        return error

    def prepare(
        self, statement: Executable, parameters: dict[str, Any]
    ) -> tuple[str, Any, Callable[[Sequence[Any] | None], Any] | None]:
        """The statement's SQL; its parameters, the defaults it names filled in and each value
        converted for the driver; and what makes its first row (or None) a named tuple of values
        converted back, or None if it answers no rows."""
        # By id: a statement compares by its columns, not as a dictionary's key (checked that
        # it is the very statement, should another take a freed id).
        found = self._compiled.get(id(statement))
        if found is None or found[0] is not statement:
            found = (statement, _Compiled(statement, self._dialect))
            self._compiled[id(statement)] = found
        compiled = found[1]
        return compiled.sql, compiled.values(parameters), compiled.row

    def as_sqlalchemy_error(
        self, error: Any, driver: Any, sql: str | None, values: Any
    ) -> DBAPIError:
        """SQLAlchemy's error for the driver's (IntegrityError, OperationalError...), saying
        whether the connection broke (a connection that could not be opened did not)."""
        broken = driver is not None and self._dialect.is_disconnect(error, driver, None)
        return cast(
            DBAPIError,
            DBAPIError.instance(
                sql,
                values,
                error,
                self.driver_error,
                connection_invalidated=broken,
                dialect=self._dialect,
            ),
        )


class _Compiled:
    """One statement compiled for a dialect, with the processors of its parameters' and columns'
    types there (`dialect_impl`, then `bind_processor` and `result_processor`: the conversions
    SQLAlchemy itself applies)."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = cast(ClauseElement, statement).compile(dialect=dialect)
        self.sql = compiled.string
        self._compiled = compiled
        binds: dict[str, Any] = getattr(compiled, "binds", {})
        self._to_driver = {
            name: processor
            for name, bind in binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        # sqlite3 takes `?` and a sequence, psycopg `%(name)s` and a mapping.
        self._order: list[str] | None = getattr(compiled, "positiontup", None)
        columns = list(getattr(statement, "exported_columns", []))
        self.row = _row_maker(columns, dialect) if columns else None

    def values(self, parameters: dict[str, Any]) -> Any:
        values = dict(self._compiled.construct_params(parameters) or {})
        for name, processor in self._to_driver.items():
            values[name] = processor(values[name])
        return values if self._order is None else [values[name] for name in self._order]


def _row_maker(columns: list[Any], dialect: Dialect) -> Callable[[Sequence[Any] | None], Any]:
    """A row of these columns as a named tuple of their values converted back by their types,
    read by column name as SQLAlchemy's rows are. Made from the statement's own columns, once:
    psycopg's named tuples are made from the answer's description, which it builds anew for each
    statement run (a tenth of a check's CPU)."""
    named = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]
    processors = [
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    ]

    def row(values: Sequence[Any] | None) -> Any:
        if values is None:
            return None
        return named._make(
            value if processor is None else processor(value)
            for processor, value in zip(processors, values, strict=True)
        )

    return row


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

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _dead(dbapi_connection):
            raise DisconnectionError("the database closed this connection")


def _dead(driver_connection: Any) -> bool:
    """Whether an idle psycopg connection (sync or async) is closed, broken, or has something to
    read: see _drop_dead_connections."""
    import psycopg

    if driver_connection.closed or driver_connection.broken:
        return True
    try:
        descriptor = driver_connection.fileno()
    except psycopg.Error:  # psycopg has no socket for a connection it knows is lost
        return True
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
