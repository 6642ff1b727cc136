"""Small helpers for the app's work over time on the asyncio loop (Pyodide's in the browser)."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["MAX_WAIT_S", "cancel", "sleep_or_wake"]

# Work over time looks again at least this often (browsers cut longer timers short, and a
# machine that slept fires them late).
MAX_WAIT_S = 3600.0


def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel `task`, if there is one and it is not the one running this (it ends by itself)."""
    if task is not None and task is not asyncio.current_task():
        task.cancel()


async def sleep_or_wake(wake: asyncio.Event, wait_s: float | None) -> None:
    """Sleep `wait_s` seconds (None: until woken, or `MAX_WAIT_S`), or less if `wake` is set
    meanwhile; `wake` is cleared first, so only a later `set()` cuts this sleep short."""
    wake.clear()
    timeout_s = MAX_WAIT_S if wait_s is None else min(wait_s, MAX_WAIT_S)
    # asyncio.timeout, not wait_for: Python 3.11's wait_for may swallow a cancellation that
    # arrives as the wait ends, and the task would never stop.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await wake.wait()
