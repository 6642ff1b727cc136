"""Every string the API reads has a format; nothing a client sends gives a 500.

Usernames are one account whatever their case or width and are shown as typed; passwords match
whether typed in NFC or NFD; the password policy speaks in sentences.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.helpers import PASSWORD, Api, assert_error

SURROGATE = "\ud800"


# -- text that is not text -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_lone_surrogate_in_a_sign_up_field_is_invalid_request(
    api: Api, username: str, field: str
) -> None:
    body = {"applicationKey": api.application.key, "username": username, "password": PASSWORD}
    body[field] += SURROGATE

    reply = api.post("/v1/users", body)

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"] == f"The {field} contains something that is not valid text."


@pytest.mark.parametrize("field", ["applicationKey", "username", "password"])
def test_a_lone_surrogate_in_a_sign_in_field_is_invalid_request(
    api: Api, username: str, field: str
) -> None:
    body = {"applicationKey": api.application.key, "username": username, "password": PASSWORD}
    body[field] += SURROGATE

    assert_error(api.post("/v1/sessions", body), 400, "invalid_request")


@pytest.mark.parametrize("field", ["applicationKey", "userId", "sessionId", "sessionSecret"])
def test_a_lone_surrogate_in_a_session_object_is_invalid_request(
    api: Api, username: str, field: str
) -> None:
    session = api.new_session(username)
    session[field] += SURROGATE

    assert_error(api.resume(session), 400, "invalid_request")


def test_a_lone_surrogate_in_a_ticket_is_invalid_ticket(api: Api, username: str) -> None:
    assert_error(api.sign_in_with_ticket(api.ticket(username) + SURROGATE), 401, "invalid_ticket")


def test_a_lone_surrogate_in_a_field_name_is_invalid_request(api: Api) -> None:
    reply = api.post("/v1/users", {"applicationKey": api.application.key, SURROGATE: 1})

    assert_error(reply, 400, "invalid_request")


@pytest.mark.parametrize(
    "odd",
    [
        "\u202ealice",  # right-to-left override
        "al\u200bice",  # zero-width space
        "alice\u0000",
        "ali\U0001f600ce",  # an emoji
        "\u0301alice",  # a combining accent with nothing to sit on
        "alice\u3000",  # ideographic space
        "ali ce",
        "ＡＬＩＣＥ\u2028",  # line separator
    ],
    ids=repr,
)
def test_odd_unicode_in_a_username_is_invalid_request(api: Api, odd: str) -> None:
    reply = api.sign_up(odd)

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"].startswith(("A username is", "The username cannot contain"))
    assert reply.body["field"] == "username"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sessionId", "ses_0123"),
        ("sessionId", "SES_" + "0" * 32),
        ("sessionSecret", "x" * 42),
        ("sessionSecret", "x" * 42 + "="),
        ("applicationKey", "app key"),
        ("applicationKey", "a" * 65),
    ],
)
def test_session_object_fields_have_formats(
    api: Api, username: str, field: str, value: str
) -> None:
    session = api.new_session(username)

    reply = api.resume({**session, field: value})

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"].startswith(f"The {field} must be")


# -- one account whatever the case or width ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "variant"),
    [
        ("Alice", "ALICE"),
        ("alice", "ａｌｉｃｅ"),  # full-width
        ("Straße", "STRASSE"),
        ("Jos\u00e9", "jose\u0301"),  # NFC and NFD
    ],
)
def test_a_case_or_width_variant_of_a_taken_name_is_username_taken(
    api: Api, username: str, typed: str, variant: str
) -> None:
    suffix = username.removeprefix("user-")
    assert api.sign_up(typed + suffix).status == 201

    assert_error(api.sign_up(variant + suffix), 409, "username_taken")


def test_a_username_is_shown_as_typed_and_found_by_any_variant(api: Api, username: str) -> None:
    typed = "Zoë-" + username.removeprefix("user-")
    created = api.sign_up(typed)

    signed_in = api.sign_in(typed.upper())

    assert created.body == {"userId": typed, "username": typed}
    assert signed_in.status == 201 and signed_in.body["userId"] == typed
    assert api.resume(signed_in.body).body["userId"] == typed


def test_a_ticket_for_a_case_variant_signs_in_the_same_user(api: Api, username: str) -> None:
    api.sign_up(username)

    session = api.new_session(username.upper())

    assert session["userId"] == username


def test_a_password_typed_in_nfc_matches_when_typed_in_nfd(api: Api, username: str) -> None:
    nfc = "Crème brûlée à minuit"
    api.sign_up(username, nfc)

    reply = api.sign_in(username, unicodedata.normalize("NFD", nfc))

    assert reply.status == 201


# -- the password policy -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("eleven char", "Choose a password of at least 12 characters."),
        ("x" * 129, "Choose a password of at most 128 characters."),
        (
            "password1234",
            (
                "This password is one of the most common passwords leaked from other sites, "
                "so it would be guessed quickly. Choose another one."
            ),
        ),
        (
            "QWERTYUIOP123",  # the list is matched whatever the case
            (
                "This password is one of the most common passwords leaked from other sites, "
                "so it would be guessed quickly. Choose another one."
            ),
        ),
        (
            "tab\there and more",
            "The password cannot contain control characters such as a tab or a line break.",
        ),
    ],
    ids=["short", "long", "common", "common in capitals", "control character"],
)
def test_a_password_that_breaks_the_policy_is_refused_with_a_sentence(
    api: Api, username: str, password: str, message: str
) -> None:
    reply = api.sign_up(username, password)

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"] == message
    # A page shows the sentence beside the field it names.
    assert reply.body["field"] == "password"


def test_a_password_that_is_the_username_is_refused(api: Api) -> None:
    reply = api.sign_up("Longusername42", "LONGUSERNAME42")

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"] == "Choose a password that is not your username."
    assert reply.body["field"] == "password"


def test_a_refusal_about_no_one_field_names_none(api: Api, username: str) -> None:
    reply = api.post("/v1/users", {"username": username, "password": PASSWORD})

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"] == "The field applicationKey is required."
    assert reply.body["field"] == "applicationKey"
    reply = api.post("/v1/users", ["not", "an", "object"])
    assert_error(reply, 400, "invalid_request")
    assert "field" not in reply.body


@pytest.mark.parametrize(
    "password",
    ["😀" * 12, "漢字" * 32, "x" * 128, "  spaces   count  too  ", "ÅngströmÅngström"],
    ids=["12 emoji", "64 kanji", "128 characters", "spaces", "accents"],
)
def test_any_unicode_password_of_12_to_128_characters_is_accepted(
    api: Api, username: str, password: str
) -> None:
    assert api.sign_up(username, password).status == 201
    assert api.sign_in(username, password).status == 201


# -- no input gives a 500 ----------------------------------------------------------------


def _any_text() -> st.SearchStrategy[str]:
    odd = st.characters(categories=["Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp", "M"])
    text = st.text(st.one_of(st.characters(), odd), max_size=40)
    with_surrogate = st.builds(
        lambda head, surrogate, tail: head + surrogate + tail,
        text,
        st.characters(categories=["Cs"]),
        text,
    )
    return st.one_of(text, with_surrogate)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _any_text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_any_text(), inner, max_size=3),
    max_leaves=6,
)


# A new username for every example: a taken name or a full rate-limit bucket would stop the
# request before the deeper code (hashing, say) that the odd value should reach.
def _values_for(valid: Any) -> st.SearchStrategy[Any]:
    """Any JSON; and for a text field, its valid value with odd text spliced in, so that the odd
    part reaches past the format checks (a password long enough to be hashed, say)."""
    if not isinstance(valid, str):
        return JSON_VALUES
    spliced = st.builds(
        lambda at, odd: valid[:at] + odd + valid[at:], st.integers(0, len(valid)), _any_text()
    )
    return st.one_of(JSON_VALUES, spliced)


def _sign_up(api: Api, session: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "/v1/users", _password_body(api)


def _sign_in(api: Api, session: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "/v1/sessions", _password_body(api)


def _ticket(api: Api, session: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ticket = api.ticket(_name())
    return "/v1/sessions", {"applicationKey": api.application.key, "userTicket": ticket}


def _password_body(api: Api) -> dict[str, Any]:
    return {"applicationKey": api.application.key, "username": _name(), "password": PASSWORD}


def _name() -> str:
    return "fuzz-" + uuid.uuid4().hex[:10]


def _resume(api: Api, session: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "/v1/sessions/resume", dict(session)


BODY_FIELDS: list[tuple[Callable[[Api, dict[str, Any]], tuple[str, dict[str, Any]]], str]] = [
    *((_sign_up, field) for field in ("applicationKey", "username", "password")),
    *((_sign_in, field) for field in ("applicationKey", "username", "password", "userTicket")),
    *((_ticket, field) for field in ("applicationKey", "userTicket")),
    *(
        (_resume, field)
        for field in (
            "version",
            "applicationKey",
            "userId",
            "sessionId",
            "sessionSecret",
            "createdAt",
        )
    ),
]


@pytest.fixture(scope="module")
def fuzz_session(service: Any) -> dict[str, Any]:
    return service.api.new_session("fuzz-user")


@pytest.mark.parametrize(
    ("make_body", "field"), BODY_FIELDS, ids=[f"{m.__name__[1:]}-{f}" for m, f in BODY_FIELDS]
)
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_value_of_any_body_field_gives_a_server_error(
    api: Api,
    fuzz_session: dict[str, Any],
    make_body: Callable[[Api, dict[str, Any]], tuple[str, dict[str, Any]]],
    field: str,
    data: st.DataObject,
) -> None:
    path, body = make_body(api, fuzz_session)
    body[field] = data.draw(_values_for(body.get(field)))

    reply = api.request(
        "POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )

    assert reply.status < 500, reply
    if reply.status >= 400:
        assert_error(reply, reply.status, reply.error or "")


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    token=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=120,
    )
)
def test_no_bearer_token_gives_a_server_error(api: Api, token: str) -> None:
    reply = api.request("GET", "/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert_error(reply, 401, "session_unknown")
