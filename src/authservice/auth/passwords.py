"""Password hashes (argon2id), computed in a bounded pool of their own.

Hashing is the one expensive thing the service does: each hash takes `ARGON2_MEMORY_KIB` of memory
and tens of milliseconds of a core. It runs in its own pool of `workers` threads (argon2 releases
the GIL), with at most `queue_limit` jobs waiting; past that, `ServiceBusy` (503) at once, so a
burst of sign-ins can neither exhaust memory nor starve the event loop and the other endpoints.
On Linux those threads run at a lower priority than the rest of the process (`HASHING_NICENESS`):
they still take every idle core, but the event loop gets a core back the moment it has work, so
`/v1/health` and the other requests answer while a burst of sign-ins hashes.

A sign-in costs the same whether or not the user exists: a missing user, or one created by a ticket
(no password), is checked against a dummy hash made with the same parameters.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TypeVar

import argon2

from authservice.auth.rules import normalize_password
from authservice.core.errors import ServiceBusy

__all__ = [
    "ARGON2_MEMORY_KIB",
    "ARGON2_TIME_COST",
    "HASHING_NICENESS",
    "PasswordCheck",
    "PasswordHasher",
]

# OWASP's minimum for argon2id (m=19 MiB, t=2, p=1), chosen by measurement (benchmarks/
# service_load.py) on a 2-core machine: one hash takes 30-55 ms, and a burst of 50 sign-ins
# peaks at 130-150 MiB with /v1/health p99 at 35-95 ms and sign-in p99 at 2.0-2.7 s. The next larger
# setting measured (m=32 MiB, t=2) costs 2.5-3 times as much per hash, which would stretch that
# sign-in p99 past 6 s. One lane: parallelism comes from the pool, not from inside one hash.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
# How much nicer than the process the hashing threads run (Linux only: there a thread has a
# priority of its own). Linux's scheduler weighs a thread at +10 about a ninth of one at the
# process's own priority, and lets a woken thread of higher weight run at once: the event loop no
# longer queues behind the hashes for its turn on a core.
HASHING_NICENESS = 10

_T = TypeVar("_T")


@dataclass(frozen=True)
class PasswordCheck:
    """`new_hash` is set when the password matched a hash that should be replaced: made with
    weaker parameters, or of the password before NFKC normalisation."""

    matched: bool
    new_hash: str | None = field(default=None, repr=False)


class PasswordHasher:
    def __init__(
        self,
        *,
        workers: int,
        queue_limit: int,
        hasher: argon2.PasswordHasher | None = None,
    ) -> None:
        self._hasher = hasher or argon2.PasswordHasher(
            time_cost=ARGON2_TIME_COST,
            memory_cost=ARGON2_MEMORY_KIB,
            parallelism=ARGON2_PARALLELISM,
            type=argon2.Type.ID,
        )
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._pool = ThreadPoolExecutor(
            workers, thread_name_prefix="password-hash", initializer=_lower_thread_priority
        )
        self._slots = threading.BoundedSemaphore(workers + queue_limit)
        self.workers = workers
        self.queue_limit = queue_limit

    def __repr__(self) -> str:
        hasher = self._hasher
        return (
            f"PasswordHasher(argon2id m={hasher.memory_cost} KiB t={hasher.time_cost} "
            f"p={hasher.parallelism}, workers={self.workers}, queue_limit={self.queue_limit})"
        )

    async def hash(self, password: str) -> str:
        """The hash of the NFKC-normalised password; ServiceBusy when the pool is full."""
        return await self._run(self._hasher.hash, normalize_password(password))

    async def check(self, stored_hash: str | None, password: str) -> PasswordCheck:
        """Whether the password matches; ServiceBusy when the pool is full."""
        return await self._run(self._check, stored_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _check(self, stored_hash: str | None, password: str) -> PasswordCheck:
        normalized = normalize_password(password)
        # Hashes made before passwords were normalised hold the password as typed. Whether that
        # second check runs depends on the password alone, never on whether the user exists.
        candidates = [normalized] if normalized == password else [normalized, password]
        matched = [self._verify(stored_hash or self._dummy_hash, c) for c in candidates]
        if stored_hash is None or not any(matched):
            return PasswordCheck(matched=False)
        if matched[0] and not self._hasher.check_needs_rehash(stored_hash):
            return PasswordCheck(matched=True)
        return PasswordCheck(matched=True, new_hash=self._hasher.hash(normalized))

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    async def _run(self, function: Callable[..., _T], *args: object) -> _T:
        if not self._slots.acquire(blocking=False):
            raise ServiceBusy()
        try:
            future = self._pool.submit(function, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(future)


def _lower_thread_priority() -> None:
    """This thread `HASHING_NICENESS` nicer than it was (at most 19), on Linux, where
    setpriority(2) on a thread id moves that thread alone; elsewhere it would move the process."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    # A failure here would break the pool (an initializer that raises fails every job): hashing at
    # the process's own priority is slower for the other requests, never wrong.
    with suppress(OSError):
        niceness = min(19, os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS)
        os.setpriority(os.PRIO_PROCESS, thread, niceness)
