"""Sign-in attempts are limited per username and per client address; sign-ups per address."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.service.helpers import PASSWORD, RunningService, assert_error, start_service


@pytest.fixture(scope="module")
def address_limited_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    running = start_service(
        tmp_path_factory.mktemp("address-limited"),
        login_attempts_per_ip=3,
        login_attempts_per_user=100,
        rate_window_s=60,
    )
    yield running
    running.process.stop()


def test_failed_sign_ins_for_one_username_are_limited_until_the_window_passes(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    api = fresh_service(login_attempts_per_user=3, login_attempts_per_ip=1000, rate_window_s=3).api
    api.sign_up(username)
    for _ in range(3):
        assert_error(api.sign_in(username, "wrong password"), 401, "invalid_credentials")

    limited = api.sign_in(username, PASSWORD)  # even the right password waits

    assert_error(limited, 429, "rate_limited")
    retry_after_s = int(limited.headers["retry-after"])
    assert 1 <= retry_after_s <= 3
    assert_error(api.sign_in("other-" + username, "wrong"), 401, "invalid_credentials")

    time.sleep(retry_after_s)

    assert api.sign_in(username, PASSWORD).status == 201


def test_failed_sign_ins_from_one_address_are_limited_across_usernames(
    address_limited_service: RunningService, username: str
) -> None:
    api = address_limited_service.api
    for attempt in range(3):
        assert_error(api.sign_in(f"{username}-{attempt}", "wrong"), 401, "invalid_credentials")

    limited = api.sign_in(f"{username}-new", PASSWORD)

    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert_error(api.sign_in_with_ticket(api.ticket(username)), 429, "rate_limited")


def test_sign_ups_from_one_address_are_limited(
    address_limited_service: RunningService, username: str
) -> None:
    api = address_limited_service.api
    for attempt in range(3):
        assert api.sign_up(f"{username}-{attempt}").status == 201

    limited = api.sign_up(f"{username}-new")

    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
