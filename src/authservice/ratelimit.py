"""Sliding-window attempt counting, in memory (so per process)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["AttemptLimiter"]


class AttemptLimiter:
    """Counts attempts per key over the last `window_s` seconds.

    >>> limiter = AttemptLimiter(window_s=60)
    >>> limiter.try_acquire((("user", "alice"), 5), (("address", "10.0.0.1"), 50))
    0
    """

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._attempts: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept_at = clock()

    def __repr__(self) -> str:
        return f"AttemptLimiter(window_s={self.window_s}, keys={len(self._attempts)})"

    def try_acquire(self, *buckets: tuple[Hashable, int]) -> int:
        """Record one attempt in every (key, limit) bucket and return 0; or, when any bucket is
        full, record nothing and return the whole seconds until every bucket has room again."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            wait_s = 0.0
            for key, limit in buckets:
                attempts = self._recent(key, now)
                if len(attempts) >= limit:
                    # Room comes back when the attempt that fills the bucket leaves the window.
                    wait_s = max(wait_s, attempts[len(attempts) - limit] + self.window_s - now)
            if wait_s > 0:
                return max(1, math.ceil(wait_s))
            for key, _ in buckets:
                self._attempts.setdefault(key, deque()).append(now)
            return 0

    def release(self, *keys: Hashable) -> None:
        """Forget one attempt per key (e.g. a sign-in that succeeded)."""
        with self._lock:
            for key in keys:
                attempts = self._attempts.get(key)
                if attempts:
                    attempts.pop()

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        attempts = self._attempts.get(key, deque())
        while attempts and attempts[0] <= now - self.window_s:
            attempts.popleft()
        return attempts

    def _sweep(self, now: float) -> None:
        # Keys nobody uses again would otherwise stay for ever.
        if now - self._swept_at < self.window_s:
            return
        self._swept_at = now
        for key in [k for k, a in self._attempts.items() if not a or a[-1] <= now - self.window_s]:
            del self._attempts[key]
