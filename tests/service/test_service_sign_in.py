"""POST /v1/sessions with a username and password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.service.helpers import PASSWORD, Api, assert_error, parse_time
from tests.support.contract import SESSION_FIELDS


def test_sign_in_with_the_right_password_returns_a_session_object(
    backend_api: Api, username: str
) -> None:
    backend_api.sign_up(username)

    reply = backend_api.sign_in(username)

    assert reply.status == 201
    session = reply.body
    assert set(session) == SESSION_FIELDS
    assert session["version"] == 1
    assert session["applicationKey"] == backend_api.application.key
    assert session["userId"] == username
    assert session["sessionId"].startswith("ses_")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session["sessionSecret"])  # 256 bits
    created = parse_time(session["createdAt"])
    assert parse_time(session["expiresAt"]) - created == timedelta(days=30)
    assert parse_time(session["idleExpiresAt"]) - created == timedelta(days=7)


def test_each_sign_in_starts_a_new_session(api: Api, username: str) -> None:
    api.sign_up(username)

    first, second = api.sign_in(username).body, api.sign_in(username).body

    assert first["sessionId"] != second["sessionId"]
    assert first["sessionSecret"] != second["sessionSecret"]


def test_sign_in_with_a_wrong_password_is_invalid_credentials(
    backend_api: Api, username: str
) -> None:
    backend_api.sign_up(username)

    assert_error(backend_api.sign_in(username, "not the password"), 401, "invalid_credentials")


def test_sign_in_of_an_unknown_user_answers_exactly_like_a_wrong_password(
    api: Api, username: str
) -> None:
    api.sign_up(username)

    wrong_password = api.sign_in(username, "not the password")
    unknown_user = api.sign_in("nobody-" + username, PASSWORD)

    assert_error(unknown_user, 401, "invalid_credentials")
    assert (unknown_user.status, unknown_user.body) == (wrong_password.status, wrong_password.body)


def test_a_user_created_by_a_ticket_cannot_sign_in_with_a_password(api: Api, username: str) -> None:
    api.new_session(username)

    assert_error(api.sign_in(username, PASSWORD), 401, "invalid_credentials")


def test_sign_in_with_an_unknown_application_key_is_unknown_application(
    api: Api, username: str
) -> None:
    reply = api.post(
        "/v1/sessions", {"applicationKey": "app_nobody", "username": username, "password": PASSWORD}
    )

    assert_error(reply, 401, "unknown_application")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"username": "alice"},
        {"password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "userTicket": "x.y"},
        {"username": "alice", "password": None},
        {"username": 42, "password": PASSWORD},
    ],
    ids=["nothing", "no password", "no username", "password and ticket", "null", "number"],
)
def test_sign_in_needs_exactly_a_password_pair_or_a_ticket(
    api: Api, fields: dict[str, object]
) -> None:
    reply = api.post("/v1/sessions", {"applicationKey": api.application.key, **fields})

    assert_error(reply, 400, "invalid_request")
