"""POST /v1/sessions/resume: rotation, the grace window, and theft detection."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.service.helpers import Api, RunningService, assert_error

GRACE_S = 1  # the shared service runs with --rotation-grace-s 1


def test_resume_rotates_the_secret_and_keeps_the_session(backend_api: Api, username: str) -> None:
    session = backend_api.new_session(username)

    reply = backend_api.resume(session)

    assert reply.status == 200
    resumed = reply.body
    assert resumed["sessionSecret"] != session["sessionSecret"]
    for same in ("version", "applicationKey", "userId", "sessionId", "createdAt", "expiresAt"):
        assert resumed[same] == session[same]
    assert backend_api.me(resumed).status == 200


def test_resume_accepts_the_stored_object_with_fields_it_does_not_know(
    api: Api, username: str
) -> None:
    session = api.new_session(username)

    assert api.resume({**session, "savedBy": "a newer client"}).status == 200


def test_every_resume_rotates_again(backend_api: Api, username: str) -> None:
    session = backend_api.new_session(username)
    secrets = {session["sessionSecret"]}

    for _ in range(3):
        session = backend_api.resume(session).body
        secrets.add(session["sessionSecret"])

    assert len(secrets) == 4


def test_the_rotated_out_secret_within_the_grace_window_returns_the_same_current_secret(
    backend_api: Api, username: str
) -> None:
    old = backend_api.new_session(username)
    current = backend_api.resume(old).body

    repeated = backend_api.resume(old)

    assert repeated.status == 200
    assert repeated.body == current
    assert backend_api.me(current).status == 200


def test_two_tabs_resuming_at_once_both_get_the_same_new_secret(
    backend_api: Api, username: str
) -> None:
    session = backend_api.new_session(username)

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: backend_api.resume(session), range(4)))

    assert {reply.status for reply in replies} == {200}
    assert len({reply.body["sessionSecret"] for reply in replies}) == 1


def test_the_rotated_out_secret_after_the_grace_window_revokes_the_whole_session(
    backend_api: Api, username: str
) -> None:
    old = backend_api.new_session(username)
    current = backend_api.resume(old).body
    time.sleep(GRACE_S + 0.3)

    assert_error(backend_api.resume(old), 401, "session_revoked")
    assert_error(backend_api.resume(current), 401, "session_revoked")
    assert_error(backend_api.me(current), 401, "session_revoked")


def test_a_stolen_secret_resumed_twice_is_still_caught_when_the_victim_comes_back(
    backend_api: Api, username: str
) -> None:
    s0 = backend_api.new_session(username)
    s1 = backend_api.resume(s0).body  # the thief, twice: S0 -> S1 -> S2
    s2 = backend_api.resume(s1).body

    assert_error(
        backend_api.resume(s0), 401, "session_revoked"
    )  # the victim's S0: two generations old
    assert_error(backend_api.resume(s2), 401, "session_revoked")  # the thief's session is gone too
    assert_error(backend_api.me(s2), 401, "session_revoked")


def test_any_generation_older_than_the_previous_one_revokes_even_inside_the_grace_window(
    backend_api: Api, username: str
) -> None:
    generations = [backend_api.new_session(username)]
    for _ in range(4):
        generations.append(backend_api.resume(generations[-1]).body)

    assert_error(backend_api.resume(generations[1]), 401, "session_revoked")  # well inside 1 s
    assert_error(backend_api.resume(generations[-1]), 401, "session_revoked")


def test_the_previous_secret_within_the_grace_window_still_works_after_several_rotations(
    backend_api: Api, username: str
) -> None:
    s0 = backend_api.new_session(username)
    s1 = backend_api.resume(s0).body
    s2 = backend_api.resume(s1).body

    repeated = backend_api.resume(s1)

    assert repeated.status == 200 and repeated.body == s2


@pytest.mark.parametrize("call", ["me", "sign_out", "revoke_all"])
def test_a_rotated_out_secret_is_refused_by_the_bearer_endpoints_and_revokes_the_session(
    backend_api: Api, username: str, call: str
) -> None:
    old = backend_api.new_session(username)
    current = backend_api.resume(
        old
    ).body  # `old` is inside the grace window, which only resume honours

    assert_error(getattr(backend_api, call)(old), 401, "session_revoked")
    assert_error(backend_api.me(current), 401, "session_revoked")


def test_the_bearer_endpoints_take_the_current_secret(api: Api, username: str) -> None:
    current = api.resume(api.new_session(username)).body

    assert api.me(current).status == 200
    assert api.sign_out(current).status == 204


def test_a_wrong_secret_is_session_unknown_and_harms_nothing(api: Api, username: str) -> None:
    session = api.new_session(username)

    assert_error(api.resume({**session, "sessionSecret": "x" * 43}), 401, "session_unknown")
    assert api.resume(session).status == 200


def test_an_unknown_session_id_is_session_unknown(api: Api, username: str) -> None:
    session = api.new_session(username)

    reply = api.resume({**session, "sessionId": "ses_00000000000000000000000000000000"})

    assert_error(reply, 401, "session_unknown")


def test_resume_with_an_unknown_application_key_is_unknown_application(
    backend_api: Api, username: str
) -> None:
    session = backend_api.new_session(username)

    reply = backend_api.resume({**session, "applicationKey": "app_nobody"})

    assert_error(reply, 401, "unknown_application")


def test_resume_under_another_application_is_session_unknown(
    backend_service: RunningService, username: str
) -> None:
    session = backend_service.api.new_session(username)
    other_key = backend_service.api_for("resume-other-app").application.key

    reply = backend_service.api.resume({**session, "applicationKey": other_key})

    assert_error(reply, 401, "session_unknown")


def test_resume_for_another_user_id_is_session_unknown(api: Api, username: str) -> None:
    session = api.new_session(username)

    assert_error(api.resume({**session, "userId": "someone-else"}), 401, "session_unknown")


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"version": "1"},
        {"version": True},
        {"sessionSecret": 123},
        {"sessionId": None},
    ],
    ids=["version 2", "version as text", "version true", "numeric secret", "null id"],
)
def test_a_malformed_session_object_is_invalid_request(
    api: Api, username: str, change: dict[str, Any]
) -> None:
    session = api.new_session(username)

    assert_error(api.resume({**session, **change}), 400, "invalid_request")


@pytest.mark.parametrize(
    "missing", ["version", "applicationKey", "userId", "sessionId", "sessionSecret"]
)
def test_a_session_object_missing_a_field_is_invalid_request(
    api: Api, username: str, missing: str
) -> None:
    session = api.new_session(username)
    del session[missing]

    assert_error(api.resume(session), 400, "invalid_request")
