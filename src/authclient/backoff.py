"""A bounded exponential backoff for retrying when the service cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """`delays()` yields at most `max_attempts` delays: initial_s, initial_s * factor, ...,
    each capped at max_s.

    >>> list(Backoff(initial_s=1.0, factor=2.0, max_s=5.0, max_attempts=4).delays())
    [1.0, 2.0, 4.0, 5.0]
    """

    initial_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if not self.initial_s > 0:
            raise ValueError(f"initial_s must be > 0, got {self.initial_s!r}")
        if not self.factor >= 1:
            raise ValueError(f"factor must be >= 1, got {self.factor!r}")
        if not self.max_s >= self.initial_s:
            raise ValueError(f"max_s must be >= initial_s, got {self.max_s!r}")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise TypeError(f"max_attempts must be an int, got {self.max_attempts!r}")
        if self.max_attempts < 0:
            raise ValueError(f"max_attempts must be >= 0, got {self.max_attempts!r}")

    def delays(self) -> Iterator[float]:
        delay = float(self.initial_s)
        for _ in range(self.max_attempts):
            yield min(delay, self.max_s)
            delay *= self.factor
