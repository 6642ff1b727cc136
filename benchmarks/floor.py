"""The floor of benchmarks/service.py: the auth service's resume, `/me` and health as a bare Starlette
app doing the same database work in as few statements as it can, served the way the service is
(authservice.admin.serving: uvicorn, no access log, the same event loop and HTTP parser).

    python benchmarks/floor.py --port 8003 --database-url URL --data-dir DIR

It reads and writes the service's own tables (a database that `authservice migrate` made, with
sessions the service opened), and keeps the common path's rules: the application and user named,
the current secret, not revoked, not expired, not bound to a device key; a resume rotates the secret,
keeps the old one's hash as retired, moves the idle end and records the last use; `/me` records the
last use once a minute. Everything else (the grace window, reuse revocation, proofs, why a session
is refused, request validation) it leaves out: any refusal is a bare 401. The new secret is an HMAC
of the session id and the presented secret under the server key, as the service derives it
(core/keys.py, derive_next_secret): known before the one statement that rotates.

- PostgreSQL: async psycopg in autocommit, each request one statement on a pooled connection: the
  resume is an UPDATE ... RETURNING with the retired secret's INSERT in the same statement (a
  data-modifying WITH), `/me` a SELECT, health `SELECT 1`.
- SQLite: the standard library's sqlite3 in a thread (one hop per request, as a blocking driver
  needs): the resume is BEGIN IMMEDIATE, an UPDATE ... RETURNING, the INSERT, COMMIT.

A benchmark's yardstick, not a service: nothing imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authservice import Settings
from authservice.admin.serving import run_server
from authservice.core.keys import derive_next_secret, load_server_key

# Where the worker finds its configuration (uvicorn imports the factory by name).
_ENVIRONMENT = "FLOOR_CONFIGURATION"
_LAST_USE_STEP = timedelta(minutes=1)
_POOL_SIZE = 4
_UNAUTHORIZED = JSONResponse({"error": "session_unknown"}, status_code=401)

# $1 id, $2 presented hash, $3 new hash, $4 application key, $5 user id, $6 now, $7 idle end.
_RESUME_PG = """
WITH rotated AS (
    UPDATE sessions AS s
    SET generation = s.generation + 1, secret_hash = %(new_hash)s, rotated_at = %(now)s,
        last_used_at = GREATEST(s.last_used_at, %(now)s),
        idle_expires_at = LEAST(%(idle_end)s, s.expires_at)
    FROM users AS u JOIN applications AS a ON a.id = u.application_id
    WHERE s.id = %(id)s AND s.secret_hash = %(hash)s AND u.id = s.user_id
        AND a.key = %(key)s AND u.username = %(user)s AND s.revoked_at IS NULL
        AND s.device_key IS NULL AND s.expires_at > %(now)s AND s.idle_expires_at > %(now)s
    RETURNING s.id, s.generation, s.created_at, s.expires_at, s.idle_expires_at
), retired AS (
    INSERT INTO retired_session_secrets (session_id, generation, secret_hash, retired_at)
    SELECT id, generation - 1, %(hash)s, %(now)s FROM rotated
)
SELECT created_at, expires_at, idle_expires_at FROM rotated
"""
_RESUME_SQLITE = """
UPDATE sessions
SET generation = generation + 1, secret_hash = :new_hash, rotated_at = :now,
    last_used_at = max(last_used_at, :now), idle_expires_at = min(:idle_end, expires_at)
WHERE id = :id AND secret_hash = :hash AND revoked_at IS NULL AND device_key IS NULL
    AND expires_at > :now AND idle_expires_at > :now
    AND user_id = (
        SELECT u.id FROM users AS u JOIN applications AS a ON a.id = u.application_id
        WHERE a.key = :key AND u.username = :user
    )
RETURNING generation, created_at, expires_at, idle_expires_at
"""
_RETIRE_SQLITE = """
INSERT INTO retired_session_secrets (session_id, generation, secret_hash, retired_at)
VALUES (:id, :generation, :hash, :now)
"""
# Named parameters in both drivers' styles: %(name)s (psycopg) and :name (sqlite3).
_ME = """
SELECT a.key, u.username, s.created_at, s.expires_at, s.idle_expires_at, s.last_used_at
FROM sessions AS s JOIN users AS u ON u.id = s.user_id
    JOIN applications AS a ON a.id = u.application_id
WHERE s.id = {id} AND s.secret_hash = {hash} AND s.revoked_at IS NULL AND s.device_key IS NULL
    AND s.expires_at > {now} AND s.idle_expires_at > {now}
"""
_TOUCH = "UPDATE sessions SET last_used_at = {now} WHERE id = {id}"
_PG_STYLE = {"id": "%(id)s", "hash": "%(hash)s", "now": "%(now)s"}
_SQLITE_STYLE = {"id": ":id", "hash": ":hash", "now": ":now"}


class Database(Protocol):
    """The three operations, each answering a row of plain values; None refuses the session."""

    async def resume(self, body: dict[str, Any], new_hash: str, now: datetime) -> Any: ...

    async def me(self, session_id: str, secret_hash: str, now: datetime) -> Any: ...

    async def health(self) -> None: ...

    async def close(self) -> None: ...


class Postgres:
    def __init__(self, conninfo: str, idle: timedelta) -> None:
        self._conninfo = conninfo
        self._idle = idle
        self._pool: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        import psycopg

        for _ in range(_POOL_SIZE):
            connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            self._pool.put_nowait(connection)

    async def close(self) -> None:
        while not self._pool.empty():
            await self._pool.get_nowait().close()

    async def _one(self, statement: str, parameters: dict[str, Any]) -> Any:
        connection = await self._pool.get()
        try:
            cursor = await connection.execute(statement, parameters)
            return await cursor.fetchone()
        finally:
            self._pool.put_nowait(connection)

    async def resume(self, body: dict[str, Any], new_hash: str, now: datetime) -> Any:
        parameters = _resume_parameters(body, new_hash, now, now + self._idle)
        return await self._one(_RESUME_PG, parameters)

    async def me(self, session_id: str, secret_hash: str, now: datetime) -> Any:
        parameters = {"id": session_id, "hash": secret_hash, "now": now}
        row = await self._one(_ME.format(**_PG_STYLE), parameters)
        if row is not None and now - row[5] >= _LAST_USE_STEP:
            await self._one(_TOUCH.format(**_PG_STYLE) + " RETURNING id", parameters)
        return row

    async def health(self) -> None:
        await self._one("SELECT 1", {})


class Sqlite:
    """One connection per thread of anyio's pool, configured as the service's (engine.py)."""

    def __init__(self, path: str, idle: timedelta) -> None:
        self._path = path
        self._idle = idle
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None)
            for pragma in ("busy_timeout=5000", "synchronous=NORMAL", "foreign_keys=ON"):
                connection.execute(f"PRAGMA {pragma}")
            self._local.connection = connection
        return connection

    async def resume(self, body: dict[str, Any], new_hash: str, now: datetime) -> Any:
        parameters = _resume_parameters(body, new_hash, now, now + self._idle)
        return await anyio.to_thread.run_sync(self._resume, _sqlite_times(parameters))

    def _resume(self, parameters: dict[str, Any]) -> Any:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(_RESUME_SQLITE, parameters).fetchone()
            if row is not None:
                retired = {**parameters, "generation": row[0] - 1}
                connection.execute(_RETIRE_SQLITE, retired)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return None if row is None else [_sqlite_time(value) for value in row[1:]]

    async def me(self, session_id: str, secret_hash: str, now: datetime) -> Any:
        parameters = _sqlite_times({"id": session_id, "hash": secret_hash, "now": now})
        return await anyio.to_thread.run_sync(self._me, parameters, now)

    def _me(self, parameters: dict[str, Any], now: datetime) -> Any:
        connection = self._connection()
        row = connection.execute(_ME.format(**_SQLITE_STYLE), parameters).fetchone()
        if row is None:
            return None
        row = [*row[:2], *(_sqlite_time(value) for value in row[2:])]
        if now - row[5] >= _LAST_USE_STEP:
            connection.execute(_TOUCH.format(**_SQLITE_STYLE), parameters)
        return row

    async def health(self) -> None:
        await anyio.to_thread.run_sync(self._health)

    async def close(self) -> None:
        """Each thread's connection closes with its thread."""

    def _health(self) -> None:
        self._connection().execute("SELECT 1").fetchone()


def create_app() -> Starlette:
    configuration = json.loads(os.environ[_ENVIRONMENT])
    settings = Settings(data_dir=Path(configuration["data_dir"]), database_url=configuration["url"])
    server_key = load_server_key(settings)
    idle = timedelta(seconds=settings.idle_ttl_s)
    url = make_url(settings.database_url or "")
    database: Database
    if url.get_backend_name() == "postgresql":
        database = Postgres(url.set(drivername="postgresql").render_as_string(False), idle)
    else:
        database = Sqlite(url.database or "", idle)

    async def resume(request: Request) -> Response:
        body = json.loads(await request.body())
        session_id, secret = body["sessionId"], body["sessionSecret"]
        new_secret = derive_next_secret(server_key, session_id, secret)
        now = datetime.now(UTC)
        row = await database.resume(body, _hash(new_secret), now)
        if row is None:
            return _UNAUTHORIZED
        created_at, expires_at, idle_expires_at = row
        return JSONResponse(
            {
                "version": 1,
                "applicationKey": body["applicationKey"],
                "userId": body["userId"],
                "sessionId": session_id,
                "sessionSecret": new_secret,
                **_times(created_at, expires_at, idle_expires_at),
            }
        )

    async def me(request: Request) -> Response:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        session_id, _, secret = credentials.partition(".")
        if scheme.lower() != "bearer" or not secret:
            return _UNAUTHORIZED
        row = await database.me(session_id, _hash(secret), datetime.now(UTC))
        if row is None:
            return _UNAUTHORIZED
        key, username, created_at, expires_at, idle_expires_at, _ = row
        return JSONResponse(
            {
                "userId": username,
                "applicationKey": key,
                "sessionId": session_id,
                **_times(created_at, expires_at, idle_expires_at),
            }
        )

    async def health(_request: Request) -> Response:
        await database.health()
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if isinstance(database, Postgres):
            await database.open()
        try:
            yield
        finally:
            await database.close()

    routes: list[tuple[str, Callable[[Request], Awaitable[Response]], str]] = [
        ("/v1/sessions/resume", resume, "POST"),
        ("/v1/me", me, "GET"),
        ("/v1/health", health, "GET"),
    ]
    return Starlette(
        routes=[Route(path, handler, methods=[method]) for path, handler, method in routes],
        lifespan=lifespan,
    )


def _resume_parameters(
    body: dict[str, Any], new_hash: str, now: datetime, idle_end: datetime
) -> dict[str, Any]:
    return {
        "id": body["sessionId"],
        "hash": _hash(body["sessionSecret"]),
        "new_hash": new_hash,
        "key": body["applicationKey"],
        "user": body["userId"],
        "now": now,
        "idle_end": idle_end,
    }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _sqlite_times(parameters: dict[str, Any]) -> dict[str, Any]:
    """Times as SQLAlchemy stores them in SQLite: naive UTC text, which sorts as time does."""
    return {
        name: value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, datetime)
        else value
        for name, value in parameters.items()
    }


def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _times(created_at: datetime, expires_at: datetime, idle_expires_at: datetime) -> dict[str, str]:
    def wire(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "createdAt": wire(created_at),
        "expiresAt": wire(expires_at),
        "idleExpiresAt": wire(idle_expires_at),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="where server.key is")
    args = parser.parse_args()
    os.environ[_ENVIRONMENT] = json.dumps(
        {"url": args.database_url, "data_dir": str(args.data_dir)}
    )
    run_server(
        "floor:create_app",
        host="127.0.0.1",
        port=args.port,
        workers=1,
        announce=lambda host, port: print(f"floor: http://{host}:{port}/", flush=True),
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
