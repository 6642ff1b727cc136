"""Sign-in limits in three levels (docs/api.md, "Rate limits"), kept in the database; the client
address is the TCP peer's unless the proxy in front is named.

Tests speak from several loopback addresses (127.0.0.2, 127.0.0.3, ...), which Linux routes to
the service on 127.0.0.1 like any other client.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from authservice.database.rate_limits import client_network
from tests.service.helpers import (
    PASSWORD,
    Api,
    Reply,
    RunningService,
    assert_error,
    start_service,
)

WRONG = "not the password at all"


# One service for most tests: each test speaks from loopback addresses of its own, so that no two
# tests share an address bucket (and every username is new, so no two share a username bucket).
# Each level drains one attempt per 600 s / N: none drains during a test.
PER_USER_ADDRESS, PER_USER, PER_ADDRESS, WINDOW_S = 3, 6, 8, 600


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = start_service(
        tmp_path_factory.mktemp("limited"),
        login_attempts_per_user_address=PER_USER_ADDRESS,
        login_attempts_per_user=PER_USER,
        login_attempts_per_ip=PER_ADDRESS,
        rate_window_s=WINDOW_S,
    )
    yield running
    running.process.stop()


def test_failed_sign_ins_for_one_username_from_one_address_are_limited_then_drain(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    # One attempt drains every 12 s / 3 = 4 s: far longer than three refused sign-ins take, even on a
    # loaded machine, so the fourth attempt meets a full bucket.
    api = fresh_service(
        login_attempts_per_user_address=3, login_attempts_per_ip=1000, rate_window_s=12
    ).api
    api.sign_up(username)
    for _ in range(3):
        assert_error(api.sign_in(username, WRONG), 401, "invalid_credentials")

    limited = api.sign_in(username, PASSWORD)  # even the right password waits

    assert_error(limited, 429, "rate_limited")
    retry_after_s = int(limited.headers["retry-after"])
    assert 1 <= retry_after_s <= 4
    assert_error(api.sign_in("other-" + username, WRONG), 401, "invalid_credentials")

    time.sleep(retry_after_s + 0.1)

    assert api.sign_in(username, PASSWORD).status == 201


def test_the_owner_signs_in_from_another_address_while_the_username_is_hammered(
    limited: RunningService, username: str
) -> None:
    limited.api.sign_up(username)
    attacker = limited.api.from_address("127.0.1.1")
    owner = limited.api.from_address("127.0.1.2")

    replies = [attacker.sign_in(username, f"{WRONG} {guess}") for guess in range(10)]

    assert [reply.status for reply in replies] == [401] * 3 + [429] * 7
    assert owner.sign_in(username, PASSWORD).status == 201


def test_one_username_guessed_from_many_addresses_meets_the_per_username_ceiling(
    limited: RunningService, username: str
) -> None:
    limited.api.sign_up(username)
    started = time.monotonic()
    for host in (3, 4):  # 3 + 3 guesses: the ceiling of 6
        api = limited.api.from_address(f"127.0.1.{host}")
        for _ in range(PER_USER_ADDRESS):
            assert_error(api.sign_in(username, WRONG), 401, "invalid_credentials")

    refused = limited.api.from_address("127.0.1.5").sign_in(username, PASSWORD)

    assert_error(refused, 429, "rate_limited")
    assert_retry_after_of_one_drained_attempt(refused, WINDOW_S / PER_USER, started)


def test_failed_sign_ins_from_one_address_are_limited_across_usernames(
    limited: RunningService, username: str
) -> None:
    api = limited.api.from_address("127.0.1.6")
    started = time.monotonic()
    for attempt in range(PER_ADDRESS):
        assert_error(api.sign_in(f"{username}-{attempt}", WRONG), 401, "invalid_credentials")

    refused = api.sign_in(f"{username}-new", PASSWORD)

    assert_error(refused, 429, "rate_limited")
    assert_retry_after_of_one_drained_attempt(refused, WINDOW_S / PER_ADDRESS, started)
    assert_error(api.sign_in_with_ticket(api.ticket(username)), 429, "rate_limited")
    other = limited.api.from_address("127.0.1.7")
    assert_error(other.sign_in(f"{username}-new", WRONG), 401, "invalid_credentials")


def test_sign_ups_from_one_address_are_limited(limited: RunningService, username: str) -> None:
    api = limited.api.from_address("127.0.1.8")
    for attempt in range(PER_ADDRESS):
        assert api.sign_up(f"{username}-{attempt}").status == 201

    refused = api.sign_up(f"{username}-new")

    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1


def test_a_sign_in_that_succeeds_does_not_count(limited: RunningService, username: str) -> None:
    api = limited.api.from_address("127.0.1.9")
    api.sign_up(username)

    assert [api.sign_in(username).status for _ in range(2 * PER_USER)] == [201] * 2 * PER_USER


def test_concurrent_guesses_get_exactly_the_limit_through(
    limited: RunningService, username: str
) -> None:
    api = limited.api.from_address("127.0.1.10")
    api.sign_up(username)

    with ThreadPoolExecutor(20) as pool:
        replies = pool.map(lambda guess: api.sign_in(username, f"{WRONG} {guess}"), range(20))
        statuses = Counter(reply.status for reply in replies)

    assert statuses == {401: PER_USER_ADDRESS, 429: 20 - PER_USER_ADDRESS}


def test_a_spoofed_x_forwarded_for_changes_no_bucket(
    limited: RunningService, username: str
) -> None:
    api = limited.api.from_address("127.0.1.11")
    for attempt in range(PER_ADDRESS):
        spoofed = {"X-Forwarded-For": f"198.51.100.{attempt}"}
        reply = api.post("/v1/sessions", _password_body(api, f"{username}-{attempt}"), spoofed)
        assert_error(reply, 401, "invalid_credentials")

    reply = api.post(
        "/v1/sessions", _password_body(api, username), {"X-Forwarded-For": "198.51.100.99"}
    )

    assert_error(reply, 429, "rate_limited")


def test_limits_are_kept_in_the_database_shared_by_processes_and_restarts(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    first = fresh_service(login_attempts_per_user_address=3, rate_window_s=600)
    second = start_service(first.data_dir, login_attempts_per_user_address=3, rate_window_s=600)
    try:
        first.api.sign_up(username)
        assert_error(first.api.sign_in(username, WRONG), 401, "invalid_credentials")
        assert_error(second.api.sign_in(username, WRONG), 401, "invalid_credentials")
        assert_error(first.api.sign_in(username, WRONG), 401, "invalid_credentials")

        assert_error(second.api.sign_in(username, PASSWORD), 429, "rate_limited")
        first.process.restart()
        assert_error(first.api.sign_in(username, PASSWORD), 429, "rate_limited")
    finally:
        second.process.stop()


def test_the_x_forwarded_for_of_a_named_proxy_names_the_client(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(
        login_attempts_per_ip=3, rate_window_s=600, forwarded_allow_ips="127.0.0.1"
    )
    proxy, stranger = service.api, service.api.from_address("127.0.0.2")
    client = {"X-Forwarded-For": "198.51.100.7"}
    for attempt in range(3):
        reply = proxy.post("/v1/sessions", _password_body(proxy, f"{username}-{attempt}"), client)
        assert_error(reply, 401, "invalid_credentials")

    limited = proxy.post("/v1/sessions", _password_body(proxy, username), client)
    other_client = proxy.post(
        "/v1/sessions", _password_body(proxy, username), {"X-Forwarded-For": "198.51.100.8"}
    )
    # 127.0.0.2 is not the named proxy: its header is ignored, its own bucket is empty.
    untrusted = stranger.post("/v1/sessions", _password_body(stranger, username), client)

    assert_error(limited, 429, "rate_limited")
    assert_error(other_client, 401, "invalid_credentials")
    assert_error(untrusted, 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_client_is_limited_by_its_slash_64(address: str, network: str) -> None:
    assert client_network(address) == network


def assert_retry_after_of_one_drained_attempt(
    refused: Reply, interval_s: float, started: float
) -> None:
    """Retry-After is the time until one attempt drains from the full bucket: the bucket's
    interval (window / N), less what has drained since the first attempt (on a slow machine
    the attempts themselves take a second or more)."""
    elapsed_s = time.monotonic() - started
    assert interval_s - elapsed_s <= int(refused.headers["retry-after"]) <= math.ceil(interval_s)


def _password_body(api: Api, username: str) -> dict[str, str]:
    return {"applicationKey": api.application.key, "username": username, "password": WRONG}
