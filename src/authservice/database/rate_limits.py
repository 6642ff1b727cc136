"""Rate limits kept in the database, so that every worker process and machine shares them.

Each bucket is a leaky bucket: it holds up to `limit` attempts and drains at `limit` per
`window_s`. An attempt pours one in and is refused while the bucket is full; `Retry-After` says
when there is room for one again. After a burst of `limit`, one more attempt gets through every
`window_s / limit` seconds: an attacker's rate stays capped, and someone who mistyped waits
minutes, not the whole window.

A bucket is one row holding one number, the time at which it will have drained empty, named by a
keyed hash of what it limits (no username or address is stored), and, when it is about someone
(a username), a keyed hash of whom: deleting an account deletes the buckets about it (`forget`). Pouring is one
`INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING` statement, atomic on PostgreSQL (the
row is locked until commit) as on SQLite (the engine takes the write lock at BEGIN). The buckets
of one attempt are poured in a fixed order, so two transactions never wait on each other in a
circle, inside a savepoint that is rolled back when any of them is full.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from authservice.core.errors import RateLimited
from authservice.core.keys import keyed_digest
from authservice.database.engine import upsert
from authservice.database.tables import RateLimitRow

__all__ = ["Bucket", "RateLimiter", "client_network"]

_TABLE = RateLimitRow.__table__
# Room for float rounding: `limit` pours of `window_s / limit` may add up to a hair over window_s.
_SLACK_S = 1e-3


@dataclass(frozen=True)
class Bucket:
    """`name` says what is limited (it is hashed before it is stored); `scope` says which rule
    it belongs to, for the audit log."""

    scope: str
    name: str
    limit: int
    subject: str | None = None  # whom it is about, if anyone (hashed before it is stored)


class RateLimiter:
    def __init__(
        self, *, key: bytes, window_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.window_s = window_s
        self._key = key
        self._clock = clock

    def __repr__(self) -> str:
        return f"RateLimiter(window_s={self.window_s})"

    def acquire(self, db: Session, buckets: Sequence[Bucket]) -> None:
        """Pour one attempt into every bucket; or, when any is full, pour into none and raise
        RateLimited for the one that stays full longest. Runs in the caller's transaction."""
        now_s = self._clock()
        refused: list[tuple[float, Bucket]] = []
        with db.begin_nested():  # raising inside rolls every pour back
            for row_key, bucket in self._ordered(buckets):
                wait_s = self._pour(db, row_key, bucket, now_s)
                if wait_s is not None:
                    refused.append((wait_s, bucket))
            if refused:
                wait_s, bucket = max(refused, key=lambda item: item[0])
                raise RateLimited(max(1, math.ceil(wait_s)), scope=bucket.scope)

    def release(self, db: Session, buckets: Sequence[Bucket]) -> None:
        """Take back one attempt from every bucket (a sign-in that succeeded does not count)."""
        for row_key, bucket in self._ordered(buckets):
            db.execute(
                update(RateLimitRow)
                .where(RateLimitRow.bucket == row_key)
                .values(empty_at_s=RateLimitRow.empty_at_s - self._interval_s(bucket))
            )

    def forget(self, db: Session, subject: str) -> None:
        """Delete every bucket about `subject` (an account that is deleted)."""
        db.execute(delete(RateLimitRow).where(RateLimitRow.subject == self._name(subject)))

    def _pour(self, db: Session, row_key: str, bucket: Bucket, now_s: float) -> float | None:
        """None if the attempt fits; else the seconds until it would."""
        interval_s = self._interval_s(bucket)
        drained_at_s = case((_TABLE.c.empty_at_s > now_s, _TABLE.c.empty_at_s), else_=now_s)
        subject = None if bucket.subject is None else self._name(bucket.subject)
        statement = (
            upsert(db, _TABLE)
            .values(bucket=row_key, empty_at_s=now_s + interval_s, subject=subject)
            .on_conflict_do_update(
                index_elements=[_TABLE.c.bucket],
                set_={"empty_at_s": drained_at_s + interval_s},
                where=drained_at_s + interval_s - now_s <= self.window_s + _SLACK_S,
            )
            .returning(_TABLE.c.empty_at_s)
        )
        if db.execute(statement).first() is not None:
            return None
        empty_at_s = db.scalars(
            select(RateLimitRow.empty_at_s).where(RateLimitRow.bucket == row_key)
        ).one()
        # Room for one more once empty_at_s + interval_s - t <= window_s.
        return empty_at_s + interval_s - self.window_s - now_s

    def _interval_s(self, bucket: Bucket) -> float:
        return self.window_s / bucket.limit

    def _ordered(self, buckets: Sequence[Bucket]) -> list[tuple[str, Bucket]]:
        named = [(self._name(bucket.name), bucket) for bucket in buckets]
        return sorted(named, key=lambda item: item[0])

    def _name(self, text: str) -> str:
        return keyed_digest(self._key, text)


def client_network(address: str) -> str:
    """What one client is, for a limit: its IPv4 address, or its IPv6 /64 (one subscriber's
    allocation: anyone can change the low 64 bits at will)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
