"""Sign-up and sign-in against the real auth service; the session is saved where configured."""

from __future__ import annotations

import json
import logging

import pytest

from authclient import Event, MemoryStorage, SessionClient, errors
from authservice import sign_ticket
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, Stack
from tests.support.contract import SESSION_FIELDS


def test_new_user_creates_the_user_without_signing_in(
    make_client: ClientFactory, username: str
) -> None:
    client = make_client()
    assert client.new_user({"username": username, "password": PASSWORD}) == {
        "userId": username,
        "username": username,
    }
    assert client.get_session() is None
    assert client.storage.get_item(client.storage_key) is None


def test_new_user_with_a_taken_username_raises_username_taken(
    make_client: ClientFactory, username: str
) -> None:
    client = make_client()
    client.new_user({"username": username, "password": PASSWORD})
    with pytest.raises(errors.UsernameTaken) as caught:
        client.new_user({"username": username, "password": PASSWORD})
    assert caught.value.code == "username_taken" and caught.value.status == 409
    assert caught.value.message


def test_new_user_breaking_the_server_rules_is_an_invalid_request(
    make_client: ClientFactory, username: str
) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        make_client().new_user({"username": username, "password": "short"})
    assert "short" not in str(caught.value)
    assert caught.value.field == "password"
    with pytest.raises(errors.InvalidRequest) as caught:
        make_client().new_user({"username": "no spaces allowed", "password": PASSWORD})
    assert caught.value.field == "username"


def test_sign_in_returns_the_session_and_saves_it_under_the_default_key(
    make_client: ClientFactory, username: str, stack: Stack
) -> None:
    client = make_client()
    events = Recorder(client)
    client.new_user({"username": username, "password": PASSWORD})
    session = client.start({"username": username, "password": PASSWORD})

    assert set(session) == SESSION_FIELDS
    assert session["userId"] == username and session["applicationKey"] == stack.app.key
    assert client.storage_key == "sinchSession-" + stack.app.key == "sinchSession-" + stack.app.key
    assert json.loads(client.storage.get_item("sinchSession-" + stack.app.key)) == session
    assert client.get_session() == session
    assert client.user_id == username and client.is_signed_in
    assert events.events == [Event.SIGNED_IN]
    assert events.payload(Event.SIGNED_IN) == {"session": session, "method": "password"}


def test_sign_in_saves_under_a_custom_storage_key(
    make_client: ClientFactory, username: str
) -> None:
    storage = MemoryStorage()
    client = make_client(storage=storage, storage_key="my-session")
    client.new_user({"username": username, "password": PASSWORD})
    session = client.start({"username": username, "password": PASSWORD})
    assert json.loads(storage.get_item("my-session")) == session
    assert storage.get_item("sinchSession-" + client.application_key) is None


def test_sign_in_with_persist_false_saves_nothing(
    make_client: ClientFactory, username: str
) -> None:
    storage = MemoryStorage()
    client = make_client(storage=storage, persist=False)
    client.new_user({"username": username, "password": PASSWORD})
    session = client.start({"username": username, "password": PASSWORD})
    assert client.get_session() == session
    assert repr(storage) == "MemoryStorage(keys=[])"


def test_get_session_returns_a_json_serialisable_copy(signed_in: SessionClient) -> None:
    session = signed_in.get_session()
    assert json.loads(json.dumps(session)) == session
    session["userId"] = "mallory"
    assert signed_in.get_session()["userId"] != "mallory"


def test_wrong_password_raises_invalid_credentials_and_stays_signed_out(
    make_client: ClientFactory, username: str
) -> None:
    client = make_client()
    client.new_user({"username": username, "password": PASSWORD})
    with pytest.raises(errors.InvalidCredentials) as caught:
        client.start({"username": username, "password": "not the password"})
    assert isinstance(caught.value, errors.Rejected)
    assert "not the password" not in repr(caught.value) + str(caught.value)
    assert client.get_session() is None
    assert client.storage.get_item(client.storage_key) is None


def test_unknown_user_gets_the_same_invalid_credentials(
    make_client: ClientFactory, username: str
) -> None:
    with pytest.raises(errors.InvalidCredentials):
        make_client().start({"username": username, "password": PASSWORD})


def test_unknown_application_key_is_rejected(make_client: ClientFactory, username: str) -> None:
    with pytest.raises(errors.UnknownApplication):
        make_client(application_key="app_nobody").start(
            {"username": username, "password": PASSWORD}
        )


def test_repeated_wrong_passwords_are_rate_limited_with_retry_after(
    short_lived_stack: Stack, username: str
) -> None:
    client = SessionClient(
        short_lived_stack.app.key, short_lived_stack.auth_url, storage=MemoryStorage()
    )
    client.new_user({"username": username, "password": PASSWORD})
    for _ in range(2):
        with pytest.raises(errors.InvalidCredentials):
            client.start({"username": username, "password": "wrong password"})
    with pytest.raises(errors.RateLimited) as caught:
        client.start({"username": username, "password": "wrong password"})
    assert isinstance(caught.value, errors.ServiceUnavailable)
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 0


def test_ticket_sign_in_creates_the_user_and_saves_the_session(
    make_client: ClientFactory, username: str, stack: Stack
) -> None:
    client = make_client()
    events = Recorder(client)
    ticket = sign_ticket(stack.app.key, stack.app.secret, username)
    session = client.start({"userTicket": ticket})
    assert session["userId"] == username
    assert json.loads(client.storage.get_item(client.storage_key)) == session
    assert events.payload(Event.SIGNED_IN)["method"] == "ticket"
    assert client.who_am_i()["userId"] == username


def test_a_replayed_ticket_is_refused(
    make_client: ClientFactory, username: str, stack: Stack
) -> None:
    ticket = sign_ticket(stack.app.key, stack.app.secret, username)
    make_client().start({"userTicket": ticket})
    with pytest.raises(errors.InvalidTicket):
        make_client().start({"userTicket": ticket})


def test_a_ticket_signed_with_another_secret_is_refused(
    make_client: ClientFactory, username: str, stack: Stack
) -> None:
    forged = sign_ticket(stack.app.key, "not-the-application-secret", username)
    client = make_client()
    with pytest.raises(errors.InvalidTicket):
        client.start({"userTicket": forged})
    assert client.get_session() is None


def test_who_am_i_describes_the_signed_in_session(signed_in: SessionClient) -> None:
    me = signed_in.who_am_i()
    session = signed_in.get_session()
    assert me["userId"] == session["userId"]
    assert me["sessionId"] == session["sessionId"]
    assert "sessionSecret" not in me


def test_who_am_i_without_a_session_raises_not_signed_in(make_client: ClientFactory) -> None:
    with pytest.raises(errors.NotSignedIn):
        make_client().who_am_i()


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"user": "alice", "pass": "x"},
        {"username": "", "password": PASSWORD},
        {"username": "   ", "password": PASSWORD},
        {"username": "alice"},
        {"username": "alice", "password": ""},
        {"username": "alice", "password": 12345678},
        {"userTicket": ""},
        {"userTicket": None},
        {"userTicket": "t", "username": "alice", "password": PASSWORD},
        {"userId": "alice"},
        {"version": 1, "userId": "alice", "sessionId": "ses_1", "sessionSecret": "s"},
    ],
)
def test_bad_credentials_are_refused_before_any_request(
    credentials: dict, make_client: ClientFactory, closed_port_url: str
) -> None:
    # Nothing listens at closed_port_url: a request would raise NetworkError instead.
    client = make_client(auth_url=closed_port_url + "/v1")
    with pytest.raises(errors.InvalidArgument) as caught:
        client.start(credentials)
    assert isinstance(caught.value, ValueError)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("credentials", [None, 42, "alice:password", [("username", "alice")]])
def test_credentials_that_are_not_a_dict_are_a_type_error(
    credentials: object, make_client: ClientFactory
) -> None:
    with pytest.raises(TypeError):
        make_client().start(credentials)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "credentials",
    [{}, {"username": "alice"}, {"username": "", "password": PASSWORD}, {"userTicket": "t"}],
)
def test_new_user_needs_a_username_and_a_password(
    credentials: dict, make_client: ClientFactory, closed_port_url: str
) -> None:
    with pytest.raises(errors.InvalidArgument):
        make_client(auth_url=closed_port_url + "/v1").new_user(credentials)


@pytest.mark.parametrize(
    ("application_key", "auth_url"),
    [
        ("", "https://example.com/v1"),
        ("app_1", "/v1"),
        ("app_1", "ftp://example.com/v1"),
        ("app_1", ""),
    ],
)
def test_client_needs_an_application_key_and_an_absolute_http_url(
    application_key: str, auth_url: str
) -> None:
    with pytest.raises(errors.InvalidArgument):
        SessionClient(application_key, auth_url)


class FullStorage(MemoryStorage):
    """Storage that refuses writes, as localStorage does when full or in some private modes."""

    def set_item(self, key: str, value: str) -> None:
        raise OSError("QuotaExceededError")


def test_a_failed_storage_write_keeps_the_session_in_memory(
    make_client: ClientFactory, username: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(storage=FullStorage())
    client.new_user({"username": username, "password": PASSWORD})
    with caplog.at_level(logging.WARNING, logger="authclient"):
        session = client.start({"username": username, "password": PASSWORD})
    assert client.get_session() == session
    assert client.who_am_i()["userId"] == username
    assert "Could not save the session" in caplog.text
    assert session["sessionSecret"] not in caplog.text


def test_a_callback_that_raises_does_not_break_sign_in(
    make_client: ClientFactory, username: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    client.on(Event.SIGNED_IN, lambda event, payload: 1 / 0)
    client.new_user({"username": username, "password": PASSWORD})
    with caplog.at_level(logging.ERROR, logger="authclient"):
        session = client.start({"username": username, "password": PASSWORD})
    assert client.get_session() == session
    assert "ZeroDivisionError" in caplog.text


def test_unsubscribed_callback_hears_nothing(make_client: ClientFactory, username: str) -> None:
    client, heard = make_client(), []
    cancel = client.on(Event.SIGNED_IN, lambda event, payload: heard.append(event))
    cancel()
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    assert heard == []


def test_client_repr_names_the_user_and_hides_the_secret(signed_in: SessionClient) -> None:
    text = repr(signed_in)
    assert signed_in.user_id in text
    assert signed_in.get_session()["sessionSecret"] not in text
