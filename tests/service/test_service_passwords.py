"""Password hashing: a bounded pool (503 busy past its queue) at a lower priority, the same cost
for unknown users, and hashes upgraded at the next sign-in."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import argon2
import pytest

from authservice.auth.passwords import (
    ARGON2_MEMORY_KIB,
    ARGON2_TIME_COST,
    HASHING_NICENESS,
    PasswordHasher,
)
from tests.service.helpers import PASSWORD, Api, RunningService, assert_error
from tests.support.loops import run_coroutine


def concurrent_sign_ins(api: Api, usernames: list[str]) -> list[Any]:
    start = threading.Barrier(len(usernames))

    def sign_in(username: str) -> Any:
        start.wait()
        return api.sign_in(username)

    with ThreadPoolExecutor(len(usernames)) as pool:
        return list(pool.map(sign_in, usernames))


def stored_hash(service: RunningService, username: str) -> str:
    with sqlite3.connect(service.data_dir / "auth.sqlite3") as database:
        (value,) = database.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
    return str(value)


def store_hash(service: RunningService, username: str, password_hash: str) -> None:
    with sqlite3.connect(service.data_dir / "auth.sqlite3") as database:
        database.execute(
            "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
        )


def test_a_burst_past_the_hashing_queue_is_answered_503_busy_with_retry_after(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(password_hash_workers=1, password_hash_queue=1)
    service.api.sign_up(username)

    replies = concurrent_sign_ins(service.api, [username] * 4 + [f"nobody-{n}" for n in range(8)])

    statuses = Counter(reply.status for reply in replies)
    assert set(statuses) <= {201, 401, 503} and statuses[503] >= 1, statuses
    for reply in replies:
        if reply.status == 503:
            assert_error(reply, 503, "busy")
            assert reply.headers["retry-after"] == "1"


def test_sign_ins_of_unknown_users_take_the_hashing_pool_like_real_ones(
    fresh_service: Callable[..., RunningService],
) -> None:
    api = fresh_service(password_hash_workers=1, password_hash_queue=0).api

    replies = concurrent_sign_ins(api, [f"nobody-{n}" for n in range(8)])

    # Were unknown users answered without hashing, none would have to wait for the pool.
    assert Counter(reply.error for reply in replies).keys() == {"invalid_credentials", "busy"}


class CountingHasher(argon2.PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=1)
        self.verified: list[argon2.Parameters] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(argon2.extract_parameters(str(hash)))
        return super().verify(hash, password)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, unicodedata.normalize("NFD", "Crème brûlée à minuit")],
    ids=["as typed", "changed by nfkc"],
)
def test_checking_an_unknown_user_costs_what_checking_a_real_one_does(password: str) -> None:
    counting = CountingHasher()
    hasher = PasswordHasher(workers=1, queue_limit=0, hasher=counting)
    real_hash = run_coroutine(hasher.hash("another password entirely"))

    run_coroutine(hasher.check(real_hash, password))
    known = list(counting.verified)
    counting.verified.clear()
    run_coroutine(hasher.check(None, password))
    hasher.close()

    assert counting.verified == known and known  # same number of checks, same parameters


def thread_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="a thread has a priority of its own on Linux")
def test_the_hashing_threads_run_nicer_than_the_process_which_keeps_its_priority() -> None:
    priorities: list[int] = []

    class PriorityHasher(CountingHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            priorities.append(thread_priority())
            return super().hash(password, salt=salt)

    own = thread_priority()
    hasher = PasswordHasher(workers=1, queue_limit=0, hasher=PriorityHasher())
    run_coroutine(hasher.hash(PASSWORD))
    hasher.close()

    # The first hash is the dummy one, made in this thread as the pool is built.
    assert priorities == [own, min(19, own + HASHING_NICENESS)]
    assert thread_priority() == own


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_the_next_sign_in(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service()
    service.api.sign_up(username)
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=4)
    store_hash(service, username, weak.hash(PASSWORD))

    assert service.api.sign_in(username).status == 201

    upgraded = argon2.extract_parameters(stored_hash(service, username))
    assert (upgraded.time_cost, upgraded.memory_cost, upgraded.parallelism) == (
        ARGON2_TIME_COST,
        ARGON2_MEMORY_KIB,
        1,
    )
    assert service.api.sign_in(username).status == 201


def test_a_hash_of_a_password_stored_before_normalisation_still_signs_in_and_is_upgraded(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service()
    nfd = unicodedata.normalize("NFD", "Crème brûlée à minuit")
    service.api.sign_up(username)
    store_hash(service, username, argon2.PasswordHasher().hash(nfd))  # as typed, in NFD

    assert service.api.sign_in(username, nfd).status == 201

    assert argon2.PasswordHasher().verify(
        stored_hash(service, username), unicodedata.normalize("NFKC", nfd)
    )
    assert service.api.sign_in(username, unicodedata.normalize("NFC", nfd)).status == 201
