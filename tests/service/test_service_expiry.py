"""Sessions end at expiresAt (absolute) or idleExpiresAt (unused), whichever comes first."""

from __future__ import annotations

import time

from tests.service.helpers import RunningService, assert_error, parse_time


def test_a_session_expires_at_its_absolute_end_even_when_resumed(
    short_session_service: RunningService, username: str
) -> None:
    api = short_session_service.api  # --session-ttl-s 2
    session = api.new_session(username)
    resumed = api.resume(session).body
    assert resumed["expiresAt"] == session["expiresAt"]

    time.sleep(2.3)

    assert_error(api.resume(resumed), 401, "session_expired")
    assert_error(api.me(resumed), 401, "session_expired")


def test_idle_expiry_never_passes_the_absolute_end(
    short_session_service: RunningService, username: str
) -> None:
    session = short_session_service.api.new_session(username)

    assert session["idleExpiresAt"] == session["expiresAt"]


def test_a_session_not_resumed_within_the_idle_timeout_expires(
    short_idle_service: RunningService, username: str
) -> None:
    api = short_idle_service.api  # --idle-ttl-s 1
    session = api.new_session(username)

    time.sleep(1.3)

    assert_error(api.resume(session), 401, "session_expired")


def test_each_resume_moves_the_idle_expiry_forward(
    short_idle_service: RunningService, username: str
) -> None:
    api = short_idle_service.api  # --idle-ttl-s 1
    session = api.new_session(username)
    started = time.monotonic()

    while time.monotonic() - started < 2:  # twice the idle timeout, in steps well inside it
        time.sleep(0.4)
        reply = api.resume(session)
        assert reply.status == 200, reply
        assert parse_time(reply.body["idleExpiresAt"]) >= parse_time(session["idleExpiresAt"])
        session = reply.body

    assert api.me(session).status == 200
