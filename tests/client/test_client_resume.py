"""Resume: rotate and save at once; clear only on a definite rejection; keep on no answer."""

from __future__ import annotations

import json
import logging
import time

import pytest

from authclient import Event, MemoryStorage, SessionClient, errors
from tests.client.helpers import (
    PASSWORD,
    ClientFactory,
    Recorder,
    Stack,
    made_up_session,
    stored,
)


def next_page_load(tab: SessionClient, **kwargs: object) -> SessionClient:
    """A new client over the same storage, as after a reload."""
    return SessionClient(tab.application_key, tab.auth_url, storage=tab.storage, **kwargs)


# -- success ---------------------------------------------------------------------------------


def test_start_with_a_session_object_rotates_it_and_saves_the_rotated_object(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    old = signed_in.get_session()
    client = make_client()
    events = Recorder(client)
    resumed = client.start(old)

    assert resumed["sessionId"] == old["sessionId"] and resumed["userId"] == old["userId"]
    assert resumed["sessionSecret"] != old["sessionSecret"]
    assert stored(client) == resumed == client.get_session()
    assert events.events == [Event.RESUMED]
    assert events.payload(Event.RESUMED) == {"session": resumed}


def test_resume_stored_resumes_and_saves_the_rotated_session(signed_in: SessionClient) -> None:
    before = stored(signed_in)
    reloaded = next_page_load(signed_in)
    events = Recorder(reloaded)
    result = reloaded.resume_stored()

    assert result.outcome == "resumed" and result.reason is None and result.error is None
    assert result.session == reloaded.get_session() == stored(reloaded)
    assert result.session["sessionSecret"] != before["sessionSecret"]
    assert events.events == [Event.RESUMED, Event.INITIAL_SESSION]
    assert reloaded.who_am_i()["sessionId"] == before["sessionId"]


def test_every_reload_resumes_the_session_saved_by_the_last_one(signed_in: SessionClient) -> None:
    secrets = {signed_in.get_session()["sessionSecret"]}
    for _ in range(3):
        result = next_page_load(signed_in).resume_stored()
        assert result.outcome == "resumed"
        secrets.add(result.session["sessionSecret"])
    assert len(secrets) == 4


def test_resume_result_repr_hides_the_secret(signed_in: SessionClient) -> None:
    result = next_page_load(signed_in).resume_stored()
    assert result.session["sessionSecret"] not in repr(result)
    assert signed_in.user_id in repr(result)


# -- nothing usable stored -------------------------------------------------------------------


def test_resume_stored_with_nothing_stored_needs_login(make_client: ClientFactory) -> None:
    client = make_client()
    events = Recorder(client)
    result = client.resume_stored()
    assert (result.outcome, result.reason, result.session, result.error) == (
        "login_needed",
        "no_session",
        None,
        None,
    )
    assert events.events == [Event.INITIAL_SESSION]


def test_resume_stored_with_persist_false_never_reads_storage(signed_in: SessionClient) -> None:
    client = next_page_load(signed_in, persist=False)
    result = client.resume_stored()
    assert (result.outcome, result.reason) == ("login_needed", "persistence_disabled")
    assert stored(client) is not None


def _garbage(application_key: str) -> dict[str, str]:
    session = made_up_session(application_key)

    def variant(**changes: object) -> str:
        return json.dumps({**session, **changes})

    return {
        "empty": "",
        "null": "null",
        "array": "[]",
        "number": "42",
        "not json": "not json",
        "no userId": json.dumps({k: v for k, v in session.items() if k != "userId"}),
        "userId a number": variant(userId=42),
        "secret an object": variant(sessionSecret={"a": 1}),
        "expiry not a time": variant(expiresAt="soon"),
        "another application": variant(applicationKey="app_someone_else"),
        "unknown version": variant(version=99),
        "over 8 KiB": variant(padding="x" * (8 * 1024)),
    }


GARBAGE_NAMES = list(_garbage("app"))


@pytest.mark.parametrize("shape", GARBAGE_NAMES)
def test_resume_stored_clears_a_malformed_stored_value_and_needs_login(
    shape: str, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    client.storage.set_item(client.storage_key, _garbage(client.application_key)[shape])
    events = Recorder(client)
    with caplog.at_level(logging.WARNING, logger="authclient"):
        result = client.resume_stored()

    assert (result.outcome, result.reason) == ("login_needed", "invalid_stored_session")
    assert isinstance(result.error, errors.InvalidStoredSession)
    assert client.storage.get_item(client.storage_key) is None
    assert client.get_session() is None
    assert events.events == [Event.INITIAL_SESSION]
    assert [r.levelno for r in caplog.records if r.name == "authclient"] == [logging.WARNING]
    assert "A" * 43 not in caplog.text  # the stored secret is never logged


class UnreadableStorage(MemoryStorage):
    def get_item(self, key: str) -> str | None:
        raise PermissionError("SecurityError: access is denied for this document")


def test_unreadable_storage_means_login_needed(make_client: ClientFactory) -> None:
    result = make_client(storage=UnreadableStorage()).resume_stored()
    assert (result.outcome, result.reason) == ("login_needed", "no_session")


# -- definite rejections ---------------------------------------------------------------------


def test_resume_of_a_session_signed_out_elsewhere_is_rejected_and_cleared(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    other_device = make_client()
    other_device.storage.set_item(other_device.storage_key, json.dumps(signed_in.get_session()))
    user_id = signed_in.user_id
    signed_in.terminate()
    events = Recorder(other_device)

    result = other_device.resume_stored()

    assert (result.outcome, result.reason) == ("login_needed", "session_revoked")
    assert isinstance(result.error, errors.SessionRevoked)
    assert stored(other_device) is None and other_device.get_session() is None
    assert events.events == [Event.SESSION_REJECTED, Event.INITIAL_SESSION]
    payload = events.payload(Event.SESSION_REJECTED)
    assert payload["code"] == "session_revoked" and payload["error"] is result.error
    assert payload["user_id"] == user_id


def test_resume_of_an_expired_session_is_rejected_and_cleared(
    short_lived_stack: Stack, username: str
) -> None:
    client = SessionClient(
        short_lived_stack.app.key, short_lived_stack.auth_url, storage=MemoryStorage()
    )
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    time.sleep(1.2)

    result = next_page_load(client).resume_stored()

    assert (result.outcome, result.reason) == ("login_needed", "session_expired")
    assert isinstance(result.error, errors.SessionExpired)
    assert stored(client) is None


def test_resume_of_a_session_the_service_never_issued_is_rejected(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    client.storage.set_item(client.storage_key, json.dumps(made_up_session(client.application_key)))
    result = client.resume_stored()
    assert (result.outcome, result.reason) == ("login_needed", "session_unknown")
    assert stored(client) is None


def test_start_with_a_rejected_session_raises_and_clears_storage(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    session = signed_in.get_session()
    signed_in.terminate()
    client = make_client()
    client.storage.set_item(client.storage_key, json.dumps(session))
    with pytest.raises(errors.SessionRevoked):
        client.start(session)
    assert stored(client) is None


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "invalid_request", errors.InvalidRequest),
        (401, "unknown_application", errors.UnknownApplication),
        (401, "session_something_new", errors.SessionRejected),
    ],
)
def test_resume_answered_with_a_definite_rejection_clears_storage(
    status: int, code: str, error: type, canned_server, make_client: ClientFactory
) -> None:
    url = canned_server(status, json_body={"error": code, "message": "No."})
    client = make_client(auth_url=url + "/v1")
    client.storage.set_item(client.storage_key, json.dumps(made_up_session(client.application_key)))
    result = client.resume_stored()
    assert (result.outcome, result.reason) == ("login_needed", code)
    assert type(result.error) is error
    assert stored(client) is None


# -- no definite answer: keep the session ----------------------------------------------------


def test_resume_keeps_session_when_server_unreachable_and_resumes_once_it_is_back(
    own_stack: Stack, username: str
) -> None:
    client = SessionClient(
        own_stack.app.key, own_stack.auth_url, storage=MemoryStorage(), timeout_s=5
    )
    client.new_user({"username": username, "password": PASSWORD})
    saved = client.start({"username": username, "password": PASSWORD})
    own_stack.service.stop()

    reloaded = next_page_load(client, timeout_s=5)
    events = Recorder(reloaded)
    result = reloaded.resume_stored()

    assert (result.outcome, result.reason) == ("unreachable", "network_error")
    assert isinstance(result.error, errors.NetworkError)
    assert stored(reloaded) == saved
    assert events.events == [Event.SERVICE_UNREACHABLE, Event.INITIAL_SESSION]
    assert events.payload(Event.SERVICE_UNREACHABLE)["error"] is result.error

    own_stack.service.restart()
    retried = reloaded.resume_stored()
    assert retried.outcome == "resumed"
    assert retried.session["sessionId"] == saved["sessionId"]
    assert stored(reloaded) == retried.session


@pytest.mark.parametrize(
    ("status", "json_body", "headers", "reason", "error"),
    [
        (
            503,
            {"error": "unavailable", "message": "Down for maintenance"},
            {},
            "unavailable",
            errors.ServerError,
        ),
        (502, None, {}, "server_error", errors.ServerError),
        (
            500,
            {"error": "internal_error", "message": "A bug"},
            {},
            "internal_error",
            errors.ServerError,
        ),
        (
            429,
            {"error": "rate_limited", "message": "Slow down"},
            {"Retry-After": "7"},
            "rate_limited",
            errors.RateLimited,
        ),
        (
            200,
            None,
            {"Content-Type": "text/html"},
            "unexpected_response",
            errors.UnexpectedResponse,
        ),
        (
            404,
            {"error": "not_found", "message": "No such endpoint"},
            {},
            "not_found",
            errors.UnexpectedResponse,
        ),
    ],
)
def test_resume_keeps_session_when_the_answer_is_not_a_verdict(
    status: int,
    json_body: object,
    headers: dict,
    reason: str,
    error: type,
    canned_server,
    make_client: ClientFactory,
) -> None:
    url = canned_server(status, json_body=json_body, body=b"<html>portal</html>", headers=headers)
    client = make_client(auth_url=url + "/v1")
    saved = made_up_session(client.application_key)
    client.storage.set_item(client.storage_key, json.dumps(saved))
    events = Recorder(client)

    result = client.resume_stored()

    assert (result.outcome, result.reason) == ("unreachable", reason)
    assert type(result.error) is error and isinstance(result.error, errors.ServiceUnavailable)
    assert stored(client) == saved
    assert events.events == [Event.SERVICE_UNREACHABLE, Event.INITIAL_SESSION]


def test_rate_limited_resume_says_when_to_retry(canned_server, make_client: ClientFactory) -> None:
    url = canned_server(
        429,
        json_body={"error": "rate_limited", "message": "Slow down"},
        headers={"Retry-After": "7"},
    )
    client = make_client(auth_url=url + "/v1")
    client.storage.set_item(client.storage_key, json.dumps(made_up_session(client.application_key)))
    assert client.resume_stored().error.retry_after_s == 7.0


def test_resume_keeps_session_when_the_server_does_not_answer_in_time(
    silent_server: str, make_client: ClientFactory
) -> None:
    client = make_client(auth_url=silent_server + "/v1", timeout_s=0.3)
    saved = made_up_session(client.application_key)
    client.storage.set_item(client.storage_key, json.dumps(saved))
    started = time.monotonic()

    result = client.resume_stored()

    assert time.monotonic() - started < 3
    assert (result.outcome, result.reason) == ("unreachable", "timeout")
    assert isinstance(result.error, errors.Timeout)
    assert stored(client) == saved


class BrokenTransport:
    """A custom transport with a bug of its own (not a stand-in for the server)."""

    def send(self, request: object) -> object:
        raise RuntimeError("transport bug")


def test_a_failing_custom_transport_counts_as_unreachable(make_client: ClientFactory) -> None:
    client = make_client(transport=BrokenTransport())
    saved = made_up_session(client.application_key)
    client.storage.set_item(client.storage_key, json.dumps(saved))
    result = client.resume_stored()
    assert (result.outcome, result.reason) == ("unreachable", "network_error")
    assert isinstance(result.error.__cause__, RuntimeError)
    assert stored(client) == saved
