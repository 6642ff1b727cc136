"""GET /v1/me, DELETE /v1/sessions/current and DELETE /v1/users/me/sessions (Bearer)."""

from __future__ import annotations

import pytest

from tests.service.helpers import Api, assert_error


def test_me_describes_the_session_behind_the_bearer_token(backend_api: Api, username: str) -> None:
    session = backend_api.new_session(username)

    reply = backend_api.me(session)

    assert reply.status == 200
    assert reply.body == {
        "userId": username,
        "applicationKey": backend_api.application.key,
        "sessionId": session["sessionId"],
        "createdAt": session["createdAt"],
        "expiresAt": session["expiresAt"],
        "idleExpiresAt": session["idleExpiresAt"],
    }


def test_me_does_not_rotate_the_secret(api: Api, username: str) -> None:
    session = api.new_session(username)

    api.me(session)

    assert api.me(session).status == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer no-dot-here", "Bearer ses_abc.", "Bearer .secret", "Basic YTpi"],
)
def test_me_without_a_usable_bearer_token_is_session_unknown(
    api: Api, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    reply = api.request("GET", "/v1/me", headers=headers)

    assert_error(reply, 401, "session_unknown")
    assert reply.headers.get("www-authenticate") == "Bearer"


def test_me_with_a_wrong_secret_is_session_unknown(api: Api, username: str) -> None:
    session = api.new_session(username)

    assert_error(api.me({**session, "sessionSecret": "wrong"}), 401, "session_unknown")


def test_sign_out_revokes_the_session(backend_api: Api, username: str) -> None:
    session = backend_api.new_session(username)

    reply = backend_api.sign_out(session)

    assert (reply.status, reply.body) == (204, None)
    assert_error(backend_api.me(session), 401, "session_revoked")
    assert_error(backend_api.resume(session), 401, "session_revoked")
    assert_error(backend_api.sign_out(session), 401, "session_revoked")


def test_sign_out_leaves_the_users_other_sessions_alone(backend_api: Api, username: str) -> None:
    this, other = backend_api.new_session(username), backend_api.new_session(username)

    backend_api.sign_out(this)

    assert backend_api.me(other).status == 200


def test_revoke_all_revokes_every_session_of_that_user_and_no_one_elses(
    backend_api: Api, username: str
) -> None:
    first, second = backend_api.new_session(username), backend_api.new_session(username)
    stranger = backend_api.new_session("other-" + username)

    reply = backend_api.revoke_all(first)

    assert (reply.status, reply.body) == (204, None)
    assert_error(backend_api.resume(first), 401, "session_revoked")
    assert_error(backend_api.resume(second), 401, "session_revoked")
    assert backend_api.resume(stranger).status == 200


def test_a_new_sign_in_works_after_revoke_all(api: Api, username: str) -> None:
    api.revoke_all(api.new_session(username))

    assert api.me(api.new_session(username)).status == 200
