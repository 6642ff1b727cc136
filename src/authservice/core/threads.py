"""How the service hands a blocking call (a use case's work in the database) to a thread: the
routes' one call each, and the steps of a sign-in around its password hash. (On PostgreSQL the
common case of a resume and of `/me` needs none: auth/fast_paths.py runs it in the event loop.)

Through asyncio's executor rather than anyio's worker threads (Starlette's `run_in_threadpool`):
a hop costs about 90 µs of CPU that way on this machine against 160 µs through anyio, whose
capacity limiter and cancel scope a route does not need (a thread, once started, runs its call to
the end either way): a tenth of a `GET /v1/me` (benchmarks/service.py).

At most REQUEST_THREADS at once. Each thread runs Python and so needs the interpreter's lock, as
the event loop does to answer anything: with anyio's 40, a burst of 50 concurrent sign-ins kept
up to 40 threads asking for it, and `/v1/health` waited behind them (p99 280 ms on the idle 2-core
machine); with 8, 35 to 54 ms (benchmarks/service_load.py). More would not be faster: on SQLite
one transaction writes at a time, and a PostgreSQL round trip leaves its thread's core to others.
The message streams' reads and the health probe keep anyio's threads, each with a limiter of its
own (messaging/use_cases.py, database/health.py): neither may queue behind the requests here.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["REQUEST_THREADS", "in_thread"]

REQUEST_THREADS = 8

_P = ParamSpec("_P")
_T = TypeVar("_T")

_THREADS = ThreadPoolExecutor(max_workers=REQUEST_THREADS, thread_name_prefix="authservice-work")


async def in_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """`function(*args, **kwargs)` in a thread, with this task's context variables."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_THREADS, call)
