"""Keep-alive while a page stays open: the plan (pure decisions on times), and
keep_session_alive() / refresh_session() against the real service."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from authclient import Event, HttpRequest, HttpResponse, KeepAlive, SessionClient, errors
from authclient.transport import UrllibTransport
from tests.client.helpers import PASSWORD, ClientFactory, Recorder, Stack, stored

GOT = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


# -- the plan ----------------------------------------------------------------------------------


def test_a_refresh_is_due_after_half_the_idle_time_left_when_the_page_got_the_session() -> None:
    plan = KeepAlive().plan(GOT + 7 * DAY, GOT + 30 * DAY, GOT)

    assert plan.refresh_at == GOT + 3.5 * DAY
    assert plan.step(GOT + 3 * DAY) == "wait"
    assert plan.step(GOT + 3.5 * DAY) == "refresh"
    assert plan.next_check_at(GOT) == GOT + 3.5 * DAY


def test_no_refresh_is_planned_when_the_absolute_end_comes_first() -> None:
    plan = KeepAlive().plan(GOT + 7 * DAY, GOT + 2 * DAY, GOT)

    assert plan.refresh_at is None and not plan.refreshable
    assert plan.ends_at == GOT + 2 * DAY
    assert plan.step(GOT + DAY) == "wait"


def test_the_warning_comes_before_the_end_and_never_takes_more_than_a_quarter_of_it() -> None:
    long = KeepAlive(warn_before_s=300).plan(GOT + 2 * DAY, GOT + 2 * DAY, GOT)
    short = KeepAlive(warn_before_s=300).plan(GOT + seconds(8), GOT + seconds(8), GOT)

    assert long.warn_at == GOT + 2 * DAY - seconds(300)
    assert short.warn_at == GOT + seconds(6)
    assert short.step(GOT + seconds(6)) == "warn"


def test_at_the_end_the_service_is_asked_rather_than_this_device_s_clock_trusted() -> None:
    plan = KeepAlive().plan(GOT + DAY, GOT + DAY, GOT)

    assert plan.step(GOT + DAY) == "refresh"
    assert plan.step(GOT + 2 * DAY) == "refresh"
    assert plan.next_check_at(GOT + 2 * DAY) == GOT + 2 * DAY


def test_after_a_failed_refresh_the_next_check_is_the_warning_then_the_end() -> None:
    plan = KeepAlive().plan(GOT + seconds(100), GOT + DAY, GOT)

    assert plan.next_check_at(GOT + seconds(60)) == GOT + seconds(75)
    assert plan.next_check_at(GOT + seconds(80)) == GOT + seconds(100)


@pytest.mark.parametrize(
    "values",
    [
        {"refresh_fraction": 0},
        {"refresh_fraction": 1},
        {"refresh_fraction": True},
        {"warn_before_s": -1},
        {"warn_before_s": "5"},
    ],
)
def test_a_policy_out_of_range_is_refused_with_a_clear_error(values: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        KeepAlive(**values)


# -- the client --------------------------------------------------------------------------------


class CountingTransport(UrllibTransport):
    """The real HTTP transport, counting what it sends."""

    def __init__(self) -> None:
        super().__init__(5.0)
        self.sent: list[str] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(f"{request.method} {request.url.rsplit('/v1', 1)[-1]}")
        return super().send(request)


def test_nothing_is_sent_before_a_refresh_is_due(signed_in: SessionClient) -> None:
    result = signed_in.keep_session_alive()

    assert result.outcome == "waiting"
    # A 7-day idle lifetime: the next check in about 3.5 days.
    assert 3.4 * 86400 < result.next_check_s < 3.6 * 86400


def test_a_due_refresh_rotates_the_session_saves_it_and_emits_refreshed(
    signed_in: SessionClient,
) -> None:
    before = signed_in.get_session()
    events = Recorder(signed_in)

    result = signed_in.keep_session_alive(now=datetime.now(UTC) + 4 * DAY)

    assert result.outcome == "refreshed"
    after = signed_in.get_session()
    assert after["sessionId"] == before["sessionId"]
    assert after["sessionSecret"] != before["sessionSecret"]
    assert stored(signed_in) == after
    assert events.seen == [(Event.REFRESHED, {"session": after})]
    assert signed_in.who_am_i()["sessionId"] == before["sessionId"]


def test_a_tab_adopts_the_session_another_tab_refreshed_instead_of_sending_anything(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    counting = CountingTransport()
    this_tab = make_client(storage=signed_in.storage, transport=counting)
    assert this_tab.sync_from_storage() == "adopted"
    signed_in.refresh_session()  # the other tab

    result = this_tab.keep_session_alive(now=datetime.now(UTC) + 4 * DAY)

    assert result.outcome == "adopted"
    assert counting.sent == []
    assert this_tab.get_session() == signed_in.get_session()


def test_two_tabs_refreshing_at_once_get_the_same_new_secret(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    session = signed_in.get_session()
    # Neither tab sees the other's write before it sends: storages of their own.
    first, second = make_client(), make_client()
    for tab in (first, second):
        tab.storage.set_item(tab.storage_key, json.dumps(session))
        tab.sync_from_storage()

    assert first.refresh_session().outcome == second.refresh_session().outcome == "refreshed"

    assert first.get_session()["sessionSecret"] == second.get_session()["sessionSecret"]
    assert first.get_session()["sessionSecret"] != session["sessionSecret"]
    assert second.who_am_i()["sessionId"] == session["sessionId"]


def test_a_refresh_without_an_answer_keeps_the_session_and_asks_to_try_again(
    signed_in: SessionClient, closed_port_url: str
) -> None:
    tab = SessionClient(
        signed_in.application_key, closed_port_url + "/v1", storage=signed_in.storage
    )
    tab.sync_from_storage()
    session = tab.get_session()

    result = tab.keep_session_alive(now=datetime.now(UTC) + 4 * DAY)

    assert result.outcome == "unreachable"
    assert isinstance(result.error, errors.NetworkError)
    # The App backs off meanwhile; the plan's next moment is the warning before the idle end.
    assert 2.9 * 86400 < result.next_check_s < 3 * 86400
    assert tab.get_session() == session == stored(tab)


def test_a_session_revoked_elsewhere_is_dropped_at_its_next_refresh(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    elsewhere = make_client()
    elsewhere.start(signed_in.get_session())
    elsewhere.terminate(everywhere=True)
    events = Recorder(signed_in)

    result = signed_in.refresh_session()

    assert result.outcome == "rejected"
    assert isinstance(result.error, errors.SessionRevoked)
    assert signed_in.get_session() is None and stored(signed_in) is None
    assert events.events == [Event.SESSION_REJECTED]
    assert signed_in.keep_session_alive().outcome == "not_signed_in"


def test_a_session_that_expired_meanwhile_is_refused_with_session_expired(
    short_lived_stack: Stack, username: str
) -> None:
    client = SessionClient(short_lived_stack.app.key, short_lived_stack.auth_url)
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    time.sleep(1.2)  # sessions of this service end after 1 s

    result = client.keep_session_alive()

    assert result.outcome == "rejected"
    assert isinstance(result.error, errors.SessionExpired)


def test_near_its_absolute_end_the_session_is_said_to_be_expiring_once(
    short_lived_stack: Stack, username: str
) -> None:
    client = SessionClient(short_lived_stack.app.key, short_lived_stack.auth_url)
    client.new_user({"username": username, "password": PASSWORD})
    session = client.start({"username": username, "password": PASSWORD})
    ends_at = datetime.fromisoformat(session["expiresAt"])  # a refresh cannot move it
    events = Recorder(client)

    # Its warning starts a quarter of the time it had left before its end, or less: a second's
    # session (its end cut to whole seconds) is sure to be in it only just before the end.
    first = client.keep_session_alive(now=ends_at - timedelta(microseconds=2))
    again = client.keep_session_alive(now=ends_at - timedelta(microseconds=1))

    assert (first.outcome, again.outcome) == ("warned", "waiting")
    assert events.seen == [
        (
            Event.SESSION_EXPIRING,
            {"user_id": username, "ends_at": session["expiresAt"], "refreshable": False},
        )
    ]
    assert again.next_check_s == pytest.approx(1e-6)
