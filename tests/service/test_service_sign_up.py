"""POST /v1/users: sign-up."""

from __future__ import annotations

import pytest

from tests.service.helpers import PASSWORD, Api, RunningService, assert_error


def test_sign_up_creates_a_user_whose_id_is_the_username(backend_api: Api, username: str) -> None:
    reply = backend_api.sign_up(username)

    assert reply.status == 201
    assert reply.body == {"userId": username, "username": username}


def test_sign_up_accepts_every_allowed_character_and_the_longest_name(api: Api) -> None:
    assert api.sign_up("A1._-z").status == 201
    assert api.sign_up("x" * 32).status == 201


def test_sign_up_with_a_taken_username_is_username_taken(backend_api: Api, username: str) -> None:
    backend_api.sign_up(username)

    assert_error(backend_api.sign_up(username, "another password"), 409, "username_taken")


def test_the_same_username_can_sign_up_in_another_application(
    service: RunningService, username: str
) -> None:
    assert service.api.sign_up(username).status == 201
    assert service.api_for("other-app").sign_up(username).status == 201


@pytest.mark.parametrize(
    "bad_username", ["ab", "x" * 33, ".alice", "-alice", "_alice", "al ice", "alice!", ""]
)
def test_sign_up_refuses_a_username_that_breaks_the_rules(api: Api, bad_username: str) -> None:
    reply = api.sign_up(bad_username)

    assert_error(reply, 400, "invalid_request")
    assert "username" in reply.body["message"]


@pytest.mark.parametrize("bad_password", ["seven77", "x" * 257])
def test_sign_up_refuses_a_password_too_short_or_too_long(
    api: Api, username: str, bad_password: str
) -> None:
    reply = api.sign_up(username, bad_password)

    assert_error(reply, 400, "invalid_request")
    assert "password" in reply.body["message"]


def test_sign_up_with_an_unknown_application_key_is_unknown_application(
    api: Api, username: str
) -> None:
    reply = api.post(
        "/v1/users", {"applicationKey": "app_nobody", "username": username, "password": PASSWORD}
    )

    assert_error(reply, 401, "unknown_application")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"username": "alice", "password": 12345678},
        {"username": ["alice"], "password": PASSWORD},
    ],
    ids=["missing password", "number for password", "list for username"],
)
def test_sign_up_with_missing_or_wrongly_typed_fields_is_invalid_request(
    api: Api, body: dict[str, object]
) -> None:
    reply = api.post("/v1/users", {"applicationKey": api.application.key, **body})

    assert_error(reply, 400, "invalid_request")
