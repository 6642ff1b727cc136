"""The composition root: everything a running service holds, built once from its settings.

`open_services` opens the database, makes the fan-out that wakes message streams, and builds the
use-case services. It is the one place that wires them together: sessions call the fan-out when
they are revoked (so that a revoked session ends its streams); messaging and tokens authenticate
their callers with auth's check, and messaging learns when a stream's session ends (one or many)
from auth, each handed to them as callables; and deleting an account asks messaging to forget the user, in its
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from authservice.auth.use_cases import AuthService
from authservice.core.clock import utc_now
from authservice.core.keys import load_server_key
from authservice.core.settings import Settings
from authservice.database.engine import (
    AsyncSingleStatements,
    SingleStatements,
    connect_outside_pool,
    open_database,
)
from authservice.database.health import DatabaseCheck
from authservice.database.purge import PurgeResult, purge_database
from authservice.database.tables import UserRow
from authservice.messaging.fanout import Fanout, open_fanout
from authservice.messaging.use_cases import MessagingService
from authservice.tokens.use_cases import TokenService

__all__ = ["Services", "open_services"]


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    # Wakes the message streams of users whose mailbox changed or whose session ended.
    fanout: Fanout
    auth: AuthService
    messaging: MessagingService
    tokens: TokenService
    database_check: DatabaseCheck
    # PostgreSQL: the hot paths' connections in the server's event loop (`open_in_loop`).
    loop_statements: AsyncSingleStatements | None

    def __repr__(self) -> str:
        return f"Services(database={self.engine.url!r}, auth={self.auth!r})"

    def purge(self) -> PurgeResult:
        return purge_database(self.engine, utc_now())

    def open_in_loop(self) -> None:
        """In the server's event loop, as it starts: the hot paths run there from now on."""
        if self.loop_statements is not None:
            self.loop_statements.open()

    async def close_in_loop(self) -> None:
        if self.loop_statements is not None:
            await self.loop_statements.close()

    def close(self) -> None:
        self.fanout.close()
        self.auth.close()
        self.engine.dispose()


def open_services(settings: Settings) -> Services:
    """SchemaNotCurrent if the database needs migrating first."""
    engine = open_database(settings)
    database = sessionmaker(engine, expire_on_commit=False)
    fanout = open_fanout(engine, database, lambda: connect_outside_pool(settings, engine))
    server_key = load_server_key(settings)
    postgresql = engine.dialect.name == "postgresql"
    loop_statements = AsyncSingleStatements(settings, engine) if postgresql else None
    # Built after auth, which forgets a deleted user through it: looked up when that happens.
    messaging: MessagingService | None = None

    def forget_user(db: Session, user: UserRow) -> None:
        if messaging is not None:
            messaging.forget_user(db, user)

    auth = AuthService(
        settings,
        database,
        server_key,
        engine=engine,
        on_revoke=fanout.notify,
        on_delete_user=forget_user,
        loop_statements=loop_statements,
    )
    messaging = MessagingService(
        database,
        SingleStatements(engine),
        fanout,
        server_key,
        authenticate=auth.describe,
        session_end=auth.session_end,
        ended_sessions=auth.ended_sessions,
        messages_per_minute=settings.messages_per_minute,
        ping_interval_s=settings.stream_ping_interval_s,
    )
    tokens = TokenService(
        settings,
        database,
        server_key,
        authenticate=auth.describe,
        session_end=auth.session_end,
    )
    return Services(
        settings,
        engine,
        fanout,
        auth,
        messaging,
        tokens,
        DatabaseCheck(engine, loop_statements),
        loop_statements,
    )
