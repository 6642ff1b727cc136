"""The periodic check of a process's open message streams, all at once.

A wake-up can be lost (another process on the same SQLite file, a session revoked behind the
service's back), so a stream cannot rely on wake-ups alone. Were each idle stream to read the
database at each ping, 10,000 streams pinging every 15 s would be 670 transactions a second, and the
stream that has a message to deliver would queue behind them. Instead one task per process looks,
once per ping interval, at every open stream in a few statements (which sessions have ended, how
far each mailbox has got: MessagingService.stale_streams) and wakes only the streams that have
something to do. An idle stream meanwhile only pings.

The task starts with the first stream of its event loop and ends when the last one has closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import anyio
from anyio import to_thread
from sqlalchemy.exc import SQLAlchemyError

from authservice.messaging.fanout import StreamHub, StreamWaiter

__all__ = ["StreamChecks"]

logger = logging.getLogger("authservice")

# Which waiters have something to do: their session has ended, or their mailbox has moved on.
FindStale = Callable[[Sequence[StreamWaiter]], list[StreamWaiter]]


class StreamChecks:
    def __init__(
        self,
        hub: StreamHub,
        find_stale: FindStale,
        *,
        interval_s: float,
        limiter: anyio.CapacityLimiter,
    ) -> None:
        self._hub = hub
        self._find_stale = find_stale
        self._interval_s = interval_s
        self._limiter = limiter
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        running = self._task is not None and not self._task.done()
        return f"StreamChecks(interval_s={self._interval_s}, running={running})"

    def keep_running(self) -> None:
        """Start the checks if they are not running (on the event loop, as a stream opens)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            waiters = self._hub.waiters()
            if not waiters or self._hub.closed:
                return
            try:
                stale = await to_thread.run_sync(self._find_stale, waiters, limiter=self._limiter)
            except SQLAlchemyError as error:
                # Each stream then reads for itself, meets the failure and stops; its client
                # reconnects once the database is back.
                logger.warning("The message streams' check failed: the database: %s", error)
                stale = waiters
            for waiter in stale:
                waiter.ring()
