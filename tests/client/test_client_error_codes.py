"""One table of error codes: every code the service can send maps to a client error and to what the
page tells a person."""

from __future__ import annotations

import json

import pytest

import authservice.core.errors as service_errors
from authclient import ERROR_CODES, HttpResponse, errors, user_message
from authclient.protocol import error_from_response
from webapp.views import Notice


def service_error_classes() -> list[type[service_errors.AuthError]]:
    found, pending = [], [service_errors.AuthError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


SERVICE_ERRORS = {kind.code: kind for kind in service_error_classes()}


@pytest.mark.parametrize("code", sorted(SERVICE_ERRORS))
def test_every_code_the_service_sends_maps_to_a_client_error_and_a_notice(code: str) -> None:
    kind = SERVICE_ERRORS[code]
    body = json.dumps({"error": code, "message": "The service's own sentence."}).encode()
    response = HttpResponse.build(kind.status_code, {"Content-Type": "application/json"}, body)

    error = error_from_response(response)

    row = ERROR_CODES[code]
    assert isinstance(error, row.error)
    notice = Notice.for_error(error)
    assert notice.text == user_message(error)
    assert notice.text and "{" not in notice.text
    expected_kind = "warning" if isinstance(error, errors.ServiceUnavailable) else "error"
    assert notice.kind == expected_kind


@pytest.mark.parametrize("name", errors.__all__)
def test_every_client_error_class_has_a_row_of_its_own(name: str) -> None:
    kind = getattr(errors, name)
    row = ERROR_CODES[kind.default_code]
    assert row.error is kind
    assert row.user_message


def test_the_server_s_message_is_shown_as_a_sentence_where_the_table_says_so() -> None:
    error = errors.InvalidRequest("password: String should have at least 8 characters")

    assert user_message(error) == "Password: String should have at least 8 characters."


def test_a_sentence_the_server_wrote_is_shown_as_it_is() -> None:
    error = errors.InvalidRequest("Choose a password of at least 12 characters.")

    assert user_message(error) == "Choose a password of at least 12 characters."


def test_a_rate_limit_without_retry_after_waits_a_minute() -> None:
    assert user_message(errors.RateLimited("Slow down")) == "Too many attempts. Try again in 60 s."


def test_unknown_recipients_carry_the_names_the_service_listed() -> None:
    body = {
        "error": "unknown_recipients",
        "message": 'No user named "Bob", "dave" in this application.',
        "usernames": ["Bob", "dave", 7],
    }
    response = HttpResponse.build(
        400, {"Content-Type": "application/json"}, json.dumps(body).encode()
    )

    error = error_from_response(response)

    assert isinstance(error, errors.UnknownRecipients) and error.status == 400
    assert error.usernames == ["Bob", "dave"]
    assert user_message(error) == body["message"]
