"""The session object: parsed defensively, serialised to the API's JSON, secret never shown."""

from __future__ import annotations

import json

import pytest

from authclient import Session
from authclient.errors import InvalidArgument, InvalidStoredSession

KEY = "app_test"
VALID = {
    "version": 1,
    "applicationKey": KEY,
    "userId": "alice",
    "sessionId": "ses_abc123",
    "sessionSecret": "s3cr3t-VALUE_abcdefghijklmnopqrstuvwxyz0123",
    "createdAt": "2026-11-27T04:00:00Z",
    "expiresAt": "2026-12-27T04:00:00Z",
    "idleExpiresAt": "2026-12-04T04:00:00Z",
}


def with_(**changes: object) -> str:
    return json.dumps({**VALID, **changes})


def without(name: str) -> str:
    return json.dumps({k: v for k, v in VALID.items() if k != name})


def test_valid_session_object_round_trips_to_the_same_json() -> None:
    session = Session.from_json(json.dumps(VALID), application_key=KEY)
    assert session.to_dict() == VALID
    assert json.loads(session.to_json()) == VALID
    assert session.bearer_token == "ses_abc123." + VALID["sessionSecret"]


def test_resume_body_carries_only_the_identifying_fields() -> None:
    body = Session.from_dict(VALID, application_key=KEY).resume_body()
    assert body == {
        k: VALID[k] for k in ("version", "applicationKey", "userId", "sessionId", "sessionSecret")
    }


def test_repr_never_shows_the_secret() -> None:
    session = Session.from_dict(VALID, application_key=KEY)
    assert VALID["sessionSecret"] not in repr(session)
    assert "alice" in repr(session)


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        ("   ", "empty"),
        ("null", "not_an_object"),
        ("[]", "not_an_object"),
        ("42", "not_an_object"),
        ('"a string"', "not_an_object"),
        ("not json", "not_json"),
        ("{", "not_json"),
        ("[" * 3000 + "]" * 3000, "not_json"),
        (without("userId"), "missing_field"),
        (without("version"), "missing_field"),
        (without("sessionSecret"), "missing_field"),
        (with_(userId=42), "wrong_type"),
        (with_(sessionSecret=None), "wrong_type"),
        (with_(version="1"), "wrong_type"),
        (with_(version=True), "wrong_type"),
        (with_(userId=""), "invalid_value"),
        (with_(sessionSecret="has space"), "invalid_value"),
        (with_(sessionId="ses\r\nX-Evil: 1"), "invalid_value"),
        (with_(expiresAt="next tuesday"), "invalid_value"),
        (with_(createdAt="2026-11-27T04:00:00"), "invalid_value"),
        (with_(applicationKey="app_someone_else"), "other_application"),
        (with_(version=2), "unknown_version"),
        (with_(padding="x" * 9000), "too_large"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else repr(value),
)
def test_malformed_session_object_is_refused_with_a_reason(stored: str | None, reason: str) -> None:
    with pytest.raises(InvalidStoredSession) as caught:
        Session.from_json(stored, application_key=KEY)
    assert caught.value.reason == reason
    assert VALID["sessionSecret"] not in str(caught.value)


def test_invalid_session_object_is_a_value_error() -> None:
    assert issubclass(InvalidStoredSession, InvalidArgument)
    assert issubclass(InvalidStoredSession, ValueError)


def test_a_later_rotation_or_a_later_sign_in_is_newer() -> None:
    first = Session.from_dict(VALID, application_key=KEY)
    rotated = Session.from_dict(
        {**VALID, "idleExpiresAt": "2026-12-05T04:00:00Z"}, application_key=KEY
    )
    later = Session.from_dict(
        {**VALID, "sessionId": "ses_other", "createdAt": "2026-11-28T04:00:00Z"},
        application_key=KEY,
    )
    assert first.is_older_than(rotated) and not rotated.is_older_than(first)
    assert first.is_older_than(later) and not later.is_older_than(first)
    assert not first.is_older_than(first)
