"""Purging what the service no longer needs: sessions that are over (expired, idle too long, or
revoked; their retired secrets go with them, ON DELETE CASCADE), the tombstones of a deleted
account's sessions once those sessions could no longer have been used, the nonces of used tickets
once those tickets have expired, and rate-limit buckets that have drained (an empty bucket and no
row mean the same).

A purged session is unknown afterwards: presenting it gets `session_unknown` instead of
`session_expired` or `session_revoked`, which the client treats the same way.

Every worker of every machine purges now and then (`Settings.purge_interval_s`), and
`python -m authservice purge` does it once. Purges may overlap: each delete is idempotent, and on
PostgreSQL a transaction-level advisory lock lets one purge run while the others skip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, delete, func, or_, select

from authservice.database.tables import (
    ProofNonceRow,
    RateLimitRow,
    SessionRow,
    SessionTombstoneRow,
    TicketNonceRow,
)

__all__ = ["PurgeResult", "purge_database", "purge_periodically"]

logger = logging.getLogger("authservice")

# Any fixed number: the PostgreSQL advisory lock held while one process purges.
_PURGE_LOCK = 0x61757468_0002


@dataclass(frozen=True)
class PurgeResult:
    """Rows deleted; `skipped` when another process was purging at that moment."""

    sessions: int = 0
    session_tombstones: int = 0
    ticket_nonces: int = 0
    proof_nonces: int = 0
    rate_limits: int = 0
    skipped: bool = False


def purge_database(engine: Engine, now: datetime) -> PurgeResult:
    """Delete what is over at `now` (an aware UTC datetime), in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql" and not connection.scalar(
            select(func.pg_try_advisory_xact_lock(_PURGE_LOCK))
        ):
            return PurgeResult(skipped=True)
        over = or_(
            SessionRow.expires_at <= now,
            SessionRow.idle_expires_at <= now,
            SessionRow.revoked_at.is_not(None),
        )
        sessions, tombstones, nonces, proofs, limits = (
            _count(connection.execute(statement))
            for statement in (
                delete(SessionRow).where(over),
                delete(SessionTombstoneRow).where(SessionTombstoneRow.purge_after <= now),
                delete(TicketNonceRow).where(TicketNonceRow.expires_at <= now),
                delete(ProofNonceRow).where(ProofNonceRow.expires_at <= now),
                delete(RateLimitRow).where(RateLimitRow.empty_at_s <= now.timestamp()),
            )
        )
    return PurgeResult(
        sessions=sessions,
        session_tombstones=tombstones,
        ticket_nonces=nonces,
        proof_nonces=proofs,
        rate_limits=limits,
    )


def _count(result: Result[Any]) -> int:
    # A DELETE's result is a cursor result, which counts the rows it removed.
    return int(cast("CursorResult[Any]", result).rowcount)


async def purge_periodically(purge: Callable[[], PurgeResult], interval_s: float) -> None:
    """Call `purge` (in a thread) every `interval_s`, the first time one interval from now,
    until cancelled. A failure (the database is away) is logged and tried again next time."""
    while True:
        await asyncio.sleep(interval_s)
        started = time.monotonic()
        try:
            result = await asyncio.to_thread(purge)
        except Exception as error:
            logger.warning("Purge failed (tried again in %s s): %s", interval_s, error)
            continue
        logger.info("Purged in %.3f s: %s", time.monotonic() - started, result)
