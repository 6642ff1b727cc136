"""POST /v1/sessions with a userTicket signed by the application's backend."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.service.helpers import (
    Api,
    RunningService,
    assert_error,
    make_ticket,
    ticket_payload,
)


def test_a_ticket_signs_in_and_creates_the_user_on_first_use(
    backend_api: Api, username: str
) -> None:
    reply = backend_api.sign_in_with_ticket(backend_api.ticket(username))

    assert reply.status == 201
    assert reply.body["userId"] == username
    assert backend_api.me(reply.body).body["userId"] == username


def test_a_ticket_for_a_signed_up_user_signs_in_that_user(backend_api: Api, username: str) -> None:
    backend_api.sign_up(username)

    by_ticket = backend_api.new_session(username)

    assert backend_api.me(by_ticket).body["userId"] == username
    assert backend_api.sign_up(username).error == "username_taken"


def test_a_ticket_built_from_the_documented_format_is_accepted(api: Api, username: str) -> None:
    payload = ticket_payload(api.application.key, username)

    reply = api.sign_in_with_ticket(make_ticket(payload, api.application.secret))

    assert reply.status == 201


def test_a_forged_ticket_is_invalid_ticket(api: Api, username: str) -> None:
    payload = ticket_payload(api.application.key, username)

    reply = api.sign_in_with_ticket(make_ticket(payload, "not the application secret"))

    assert_error(reply, 401, "invalid_ticket")


def test_a_ticket_whose_payload_was_changed_is_invalid_ticket(api: Api, username: str) -> None:
    genuine = api.ticket(username)
    other = api.ticket("someone-else")
    tampered = other.split(".")[0] + "." + genuine.split(".")[1]

    assert_error(api.sign_in_with_ticket(tampered), 401, "invalid_ticket")


def test_an_expired_ticket_is_invalid_ticket(api: Api, username: str) -> None:
    ticket = api.ticket(username, ttl_s=60, now=datetime.now(UTC) - timedelta(minutes=5))

    assert_error(api.sign_in_with_ticket(ticket), 401, "invalid_ticket")


def test_a_ticket_issued_in_the_future_is_invalid_ticket(api: Api, username: str) -> None:
    ticket = api.ticket(username, now=datetime.now(UTC) + timedelta(minutes=5))

    assert_error(api.sign_in_with_ticket(ticket), 401, "invalid_ticket")


def test_a_ticket_valid_for_more_than_an_hour_is_invalid_ticket(api: Api, username: str) -> None:
    payload = ticket_payload(api.application.key, username, ttl_s=2 * 60 * 60)

    reply = api.sign_in_with_ticket(make_ticket(payload, api.application.secret))

    assert_error(reply, 401, "invalid_ticket")


def test_a_replayed_ticket_is_invalid_ticket(backend_api: Api, username: str) -> None:
    ticket = backend_api.ticket(username)
    assert backend_api.sign_in_with_ticket(ticket).status == 201

    assert_error(backend_api.sign_in_with_ticket(ticket), 401, "invalid_ticket")


def test_a_ticket_of_another_application_is_invalid_ticket(
    service: RunningService, username: str
) -> None:
    other = service.api_for("ticket-other-app")
    theirs = other.ticket(username)

    assert_error(service.api.sign_in_with_ticket(theirs), 401, "invalid_ticket")
    assert other.sign_in_with_ticket(theirs).status == 201


def test_a_ticket_naming_another_application_is_invalid_ticket(
    service: RunningService, username: str
) -> None:
    api = service.api
    payload = ticket_payload(service.api_for("ticket-other-app").application.key, username)

    reply = api.sign_in_with_ticket(make_ticket(payload, api.application.secret))

    assert_error(reply, 401, "invalid_ticket")


@pytest.mark.parametrize(
    "ticket", ["", "garbage", "a.b", "a.b.c", "!!!.???", "eyJ9.", ".abc"], ids=repr
)
def test_a_malformed_ticket_is_invalid_ticket(api: Api, ticket: str) -> None:
    assert_error(api.sign_in_with_ticket(ticket), 401, "invalid_ticket")


@pytest.mark.parametrize(
    "change",
    [
        {"userId": "no spaces allowed"},
        {"userId": 7},
        {"nonce": "c2hvcnQ"},
        {"issuedAt": "yesterday"},
        {"expiresAt": "2099-01-01T00:00:00+01:00"},
        {"applicationKey": None},
    ],
    ids=["bad user id", "numeric user id", "short nonce", "bad time", "no Z", "null key"],
)
def test_a_genuine_signature_over_a_malformed_payload_is_invalid_ticket(
    api: Api, username: str, change: dict[str, object]
) -> None:
    payload = {**ticket_payload(api.application.key, username), **change}

    reply = api.sign_in_with_ticket(make_ticket(payload, api.application.secret))

    assert_error(reply, 401, "invalid_ticket")


def test_a_genuine_signature_over_non_json_is_invalid_ticket(api: Api) -> None:
    ticket = make_ticket(None, api.application.secret, raw_payload=b"not json")

    assert_error(api.sign_in_with_ticket(ticket), 401, "invalid_ticket")


def test_the_sign_ticket_command_prints_a_ticket_the_service_accepts(
    api: Api, username: str
) -> None:
    env = {**os.environ, "AUTH_APPLICATION_SECRET": api.application.secret}
    command = [sys.executable, "-m", "authservice", "sign-ticket"]
    command += ["--application-key", api.application.key, "--user-id", username, "--ttl-s", "60"]

    printed = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    reply = api.sign_in_with_ticket(printed.strip())
    assert reply.status == 201
    assert reply.body["userId"] == username


def test_sign_ticket_imports_the_standard_library_only() -> None:
    # What a partner backend does: it has none of the service's dependencies installed.
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from authservice import sign_ticket\n"
        "ticket = sign_ticket('app_x', 'secret', 'alice')\n"
        "loaded = {name.partition('.')[0] for name in set(sys.modules) - before}\n"
        "print(sorted(loaded - set(sys.stdlib_module_names) - {'authservice'}))\n"
        "print(ticket)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    foreign, ticket = done.stdout.splitlines()
    assert foreign == "[]"
    assert ticket.count(".") == 1
