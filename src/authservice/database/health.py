"""Whether the database answers: what `GET /v1/health` asks, within a time limit. On PostgreSQL,
in the server's event loop (database/engine.py, AsyncSingleStatements: its statements are each a
round trip, so a check waits for few); elsewhere in threads of its own, so that it never queues
behind busy requests."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
from anyio import to_thread
from sqlalchemy import Engine, Select, literal_column, select
from sqlalchemy.exc import SQLAlchemyError

from authservice.core.errors import DatabaseUnavailable
from authservice.database.engine import AsyncSingleStatements, SingleStatements

__all__ = ["DatabaseCheck"]

logger = logging.getLogger("authservice")

# How long a check waits for the database, and how many checks may wait at once.
_TIMEOUT_S = 3.0
_CHECKS = 4
_SELECT_ONE: Select[Any] = select(literal_column("1"))


class DatabaseCheck:
    def __init__(
        self, engine: Engine, loop_statements: AsyncSingleStatements | None = None
    ) -> None:
        self._engine = engine
        self._single = SingleStatements(engine)
        self._loop_statements = loop_statements
        self._checks = anyio.CapacityLimiter(_CHECKS)

    def __repr__(self) -> str:
        return f"DatabaseCheck(database={self._engine.url!r}, timeout_s={_TIMEOUT_S})"

    async def check(self) -> None:
        """DatabaseUnavailable unless the database answers a query within a few seconds."""
        try:
            if self._loop_statements is not None and self._loop_statements.in_this_loop():
                async with asyncio.timeout(_TIMEOUT_S), self._loop_statements.statements() as run:
                    await run.first(_SELECT_ONE, {})
            else:
                with anyio.fail_after(_TIMEOUT_S):
                    await to_thread.run_sync(
                        self._query, abandon_on_cancel=True, limiter=self._checks
                    )
        except (TimeoutError, SQLAlchemyError, self._driver_errors) as error:
            reason = str(error) or f"no answer within {_TIMEOUT_S} s"
            logger.warning("Health check: the database does not answer: %s", reason)
            raise DatabaseUnavailable() from None

    @property
    def _driver_errors(self) -> type[Exception]:
        """What the driver raises itself, outside SQLAlchemy's statements: psycopg's, when a
        lost connection is switched to autocommit (SingleStatements)."""
        error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        return error

    def _query(self) -> None:
        # Outside a transaction: SQLite's BEGIN would take its write lock for this read, and on
        # PostgreSQL a transaction would end in a ROLLBACK, which makes psycopg drop the
        # connection's prepared statements (the next request would parse its own again).
        with self._single.connect() as connection:
            connection.exec_driver_sql("SELECT 1").fetchall()
