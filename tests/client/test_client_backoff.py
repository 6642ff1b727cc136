"""Backoff: a bounded series of growing delays for the app's automatic retry."""

from __future__ import annotations

import itertools

import pytest

from authclient import Backoff


def test_delays_grow_by_factor_and_stop_after_max_attempts() -> None:
    assert list(Backoff(initial_s=1.0, factor=2.0, max_s=30.0, max_attempts=5).delays()) == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
    ]


def test_delays_are_capped_at_max_s() -> None:
    delays = list(Backoff(initial_s=0.5, factor=10.0, max_s=3.0, max_attempts=4).delays())
    assert delays == [0.5, 3.0, 3.0, 3.0]


def test_delays_are_bounded_even_with_many_attempts() -> None:
    delays = list(Backoff(initial_s=1.0, factor=2.0, max_s=30.0, max_attempts=1000).delays())
    assert len(delays) == 1000
    assert max(delays) == 30.0


def test_each_call_to_delays_starts_over() -> None:
    backoff = Backoff(max_attempts=3)
    assert list(backoff.delays()) == list(backoff.delays()) == [1.0, 2.0, 4.0]


def test_zero_attempts_means_no_retry() -> None:
    assert list(Backoff(max_attempts=0).delays()) == []


def test_default_backoff_is_finite() -> None:
    assert len(list(itertools.islice(Backoff().delays(), 100))) == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": 0},
        {"initial_s": -1},
        {"factor": 0.5},
        {"max_s": 0.1, "initial_s": 1.0},
        {"max_attempts": -1},
    ],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_max_attempts_must_be_an_integer() -> None:
    with pytest.raises(TypeError):
        Backoff(max_attempts=2.5)  # type: ignore[arg-type]
