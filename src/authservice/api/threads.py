"""How a route hands its one blocking call (a use case, which talks to the database) to a thread.

Through asyncio's executor rather than anyio's worker threads (Starlette's `run_in_threadpool`):
a hop costs about 90 µs of CPU that way on this machine against 160 µs through anyio, whose
capacity limiter and cancel scope a route does not need (a thread, once started, runs its call to
the end either way). That is a tenth of a `GET /v1/me` (benchmarks/service.py). As many threads as
anyio allows by default, so that calls waiting on a lock do not hold up the rest.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["in_thread"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_THREADS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="authservice-request")


async def in_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """`function(*args, **kwargs)` in a thread, with this task's context variables."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_THREADS, call)
