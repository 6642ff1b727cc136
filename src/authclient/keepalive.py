"""When an open page refreshes its session, and when it says the session is about to end: pure
decisions on times, without I/O (`SessionClient.keep_session_alive()` acts on them).

A session ends at its idle deadline (`idleExpiresAt`) unless it is refreshed (resumed) first, and
at its absolute end (`expiresAt`) whatever happens. The plan is made when this page gets a session:

- refresh once `refresh_fraction` of the idle time it then had left has passed (half, by default:
  a 7-day idle lifetime is refreshed after 3.5 days, one of 6 s after 3 s), unless the absolute
  end comes first, when a refresh cannot move the end;
- say it is about to end `warn_before_s` before the end (at most a quarter of the time it had
  left), which only comes to pass when refreshing failed, or cannot help;
- at the end, refresh all the same: the service, not this device's clock, says it has expired.

    >>> from datetime import datetime, timedelta
    >>> got = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    >>> plan = KeepAlive().plan(got + timedelta(seconds=6), got + timedelta(days=30), got)
    >>> plan.refresh_at - got, plan.warn_at - got
    (datetime.timedelta(seconds=3), datetime.timedelta(seconds=4, microseconds=500000))
    >>> plan.step(got + timedelta(seconds=1)), plan.step(got + timedelta(seconds=3))
    ('wait', 'refresh')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from .errors import AuthError

__all__ = ["KeepAlive", "KeepAliveOutcome", "KeepAlivePlan", "KeepAliveResult", "KeepAliveStep"]

KeepAliveStep = Literal["refresh", "warn", "wait"]
KeepAliveOutcome = Literal[
    "refreshed",  # rotated now; the new session is saved
    "adopted",  # another tab had refreshed it: its session was taken from storage, nothing sent
    "warned",  # SESSION_EXPIRING was emitted
    "waiting",  # nothing due yet
    "signed_out",  # another tab signed out: signed out here too
    "rejected",  # the service refused the session: it is gone (SESSION_REJECTED)
    "unreachable",  # no answer: the session is kept; try again later
    "not_signed_in",
]

# A warning is never more than this share of the time a session had left when it was planned.
_MAX_WARNING_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """The policy; see the module's docstring."""

    refresh_fraction: float = 0.5
    warn_before_s: float = 300.0

    def __post_init__(self) -> None:
        fraction = self.refresh_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise TypeError(f"refresh_fraction must be a number, got {fraction!r}")
        if not 0 < fraction < 1:
            raise ValueError(f"refresh_fraction must be between 0 and 1, got {fraction!r}")
        warn = self.warn_before_s
        if isinstance(warn, bool) or not isinstance(warn, int | float) or not warn >= 0:
            raise ValueError(f"warn_before_s must be a number of seconds >= 0, got {warn!r}")

    def plan(
        self, idle_expires: datetime, expires: datetime, obtained_at: datetime
    ) -> KeepAlivePlan:
        """The plan for a session with these deadlines, which this page got at `obtained_at`."""
        ends_at = min(idle_expires, expires)
        refresh_at = None
        if idle_expires < expires:
            refresh_at = obtained_at + (idle_expires - obtained_at) * self.refresh_fraction
        left = max(ends_at - obtained_at, timedelta(0))
        warning = min(timedelta(seconds=self.warn_before_s), left * _MAX_WARNING_SHARE)
        return KeepAlivePlan(refresh_at=refresh_at, warn_at=ends_at - warning, ends_at=ends_at)


@dataclass(frozen=True, slots=True)
class KeepAlivePlan:
    refresh_at: datetime | None  # None: the absolute end comes first, a refresh would not move it
    warn_at: datetime
    ends_at: datetime

    @property
    def refreshable(self) -> bool:
        return self.refresh_at is not None

    def step(self, now: datetime) -> KeepAliveStep:
        """What is due at `now`."""
        if now >= self.ends_at or (self.refresh_at is not None and now >= self.refresh_at):
            return "refresh"
        if now >= self.warn_at:
            return "warn"
        return "wait"

    def next_check_at(self, now: datetime) -> datetime:
        """The next moment after `now` at which something falls due; `now` itself once all have
        passed (only an answer from the service settles it then)."""
        later = [moment for moment in (self.refresh_at, self.warn_at, self.ends_at) if moment]
        later = [moment for moment in later if moment > now]
        return min(later) if later else now


@dataclass(frozen=True, slots=True)
class KeepAliveResult:
    """What `keep_session_alive()` (or `refresh_session()`) did, and in how many seconds to call
    it again (None when there is no session to keep alive)."""

    outcome: KeepAliveOutcome
    next_check_s: float | None = None
    error: AuthError | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)
