"""The message stream (`GET /v1/messages/stream`, docs/api.md "The message stream") over real HTTP
from a `serve` process, read from the socket as it comes, on SQLite and PostgreSQL.

The shared service pings every 15 s: a message that arrives within 2 s came through the fan-out,
not through a stream's periodic check."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from authservice import Settings, create_app
from tests.service.conftest import QUIET_LIMITS
from tests.service.devices import Device, bound_session, proved
from tests.service.helpers import Api, RunningService, assert_error, bearer, serve_in_thread
from tests.service.streams import EventStream, SseEvent
from tests.service.test_service_messaging import sent, users

LIVE_S = 2.0  # the bound for a message to arrive
END_S = 1.0  # a signed-out stream ends within this


def open_stream(service: RunningService, session: dict[str, Any], **options: Any) -> EventStream:
    return EventStream(service.process.url, session, **options)


def ready(stream: EventStream) -> int:
    """The stream's first event, `ready`: the number it starts after."""
    event = stream.next_event(LIVE_S)
    assert (event.kind, event.event_id) == ("ready", event.data["lastEventId"]), event
    return int(event.data["lastEventId"])


def texts(events: list[SseEvent]) -> list[str]:
    return [event.data["text"] for event in events]


def test_a_stream_answers_event_stream_and_starts_after_the_newest_event(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    alice, bob = users(api, username, "alice", "bob")
    sent(api.send_message(alice, [bob["userId"]], "history, not news"))

    with open_stream(backend_service, bob) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-store"
        assert stream.headers["x-accel-buffering"] == "no"
        assert ready(stream) == 1
        stream.assert_quiet(0.3)


def test_a_message_arrives_live_on_every_recipient_s_stream_and_echoes_on_the_sender_s(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    sessions = users(api, username, "alice", "bob", "carol")
    with ExitStack() as opened:
        streams = [opened.enter_context(open_stream(backend_service, s)) for s in sessions]
        assert [ready(stream) for stream in streams] == [0, 0, 0]
        alice, bob, carol = sessions
        started = time.monotonic()

        message = sent(api.send_message(alice, [bob["userId"], carol["userId"]], "<i>hi</i>"))

        for stream in streams:
            event = stream.next_event(LIVE_S)
            assert (event.kind, event.event_id, event.data) == ("message", 1, message)
            assert event.received_at - started < LIVE_S


def test_a_receipt_reaches_the_sender_s_stream_as_delivered(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    alice, bob = users(api, username, "alice", "bob")
    with open_stream(backend_service, alice) as mine, open_stream(backend_service, bob) as theirs:
        ready(mine), ready(theirs)
        message = sent(api.send_message(alice, [bob["userId"]], "did you get this?"))
        assert mine.next_event().event_id == theirs.next_event().event_id == 1

        assert api.mark_delivered(bob, [message["id"]]).status == 204

        receipt = mine.next_event(LIVE_S)
        assert (receipt.kind, receipt.event_id) == ("delivered", 2)
        delivered_at = receipt.data.pop("deliveredAt")
        assert receipt.data == {
            "messageId": message["id"],
            "conversationId": message["conversationId"],
            "recipient": bob["userId"],
        }
        assert abs(datetime.now(UTC) - datetime.fromisoformat(delivered_at)).total_seconds() < 5
        theirs.assert_quiet(0.3)
    history = api.list_messages(alice, message["conversationId"]).body["messages"]
    assert history[0]["deliveredTo"] == {bob["userId"]: delivered_at}


def test_a_stream_resumed_after_the_last_event_seen_loses_and_duplicates_nothing(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    alice, bob = users(api, username, "alice", "bob")

    def send(text: str) -> None:
        sent(api.send_message(alice, [bob["userId"]], text))

    with open_stream(backend_service, bob) as first:
        ready(first)
        for text in ("one", "two", "three"):
            send(text)
        seen = first.events(2)
    assert [(event.event_id, event.data["text"]) for event in seen] == [(1, "one"), (2, "two")]
    for text in ("four", "five"):  # while disconnected
        send(text)

    with open_stream(backend_service, bob, headers={"Last-Event-ID": "2"}) as again:
        assert ready(again) == 2
        resumed = again.events(3)
        send("six")
        resumed.append(again.next_event(LIVE_S))
        again.assert_quiet(0.3)
    assert [event.event_id for event in resumed] == [3, 4, 5, 6]
    assert texts(resumed) == ["three", "four", "five", "six"]

    with open_stream(backend_service, bob, after=0) as everything:
        assert ready(everything) == 0
        assert texts(everything.events(6)) == ["one", "two", "three", "four", "five", "six"]
    # A reconnecting EventSource keeps its URL and adds the header: the header wins.
    with open_stream(backend_service, bob, after=0, headers={"Last-Event-ID": "5"}) as latest:
        assert ready(latest) == 5
        assert texts([latest.next_event()]) == ["six"]
    with open_stream(backend_service, bob, after=999) as beyond:
        assert ready(beyond) == 6


def test_signing_out_ends_the_stream_with_an_end_event_at_once(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    (bob,) = users(api, username, "bob")
    with open_stream(backend_service, bob) as stream:
        ready(stream)
        started = time.monotonic()

        assert api.sign_out(bob).status == 204

        end = stream.next_event(END_S)
        assert end.kind == "end" and end.event_id is None
        assert end.data == {"error": "session_revoked", "message": "The session has been revoked."}
        assert end.received_at - started < END_S
        assert stream.closes_within(END_S)


@pytest.mark.parametrize("how", ["one device", "every device"])
def test_ending_a_session_from_another_device_ends_its_stream_at_once(
    backend_service: RunningService, username: str, how: str
) -> None:
    api = backend_service.api
    laptop, phone = (api.new_session(f"{username}-bob") for _ in range(2))
    with open_stream(backend_service, phone) as stream:
        ready(stream)
        started = time.monotonic()

        if how == "one device":
            assert api.revoke_session(laptop, phone["sessionId"]).status == 204
        else:
            assert api.revoke_all(laptop).status == 204

        end = stream.next_event(END_S)
        assert (end.kind, end.data["error"]) == ("end", "session_revoked")
        assert end.received_at - started < END_S
        assert stream.closes_within(END_S)


def test_a_stream_of_a_session_that_has_ended_is_refused_with_401_before_any_event(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    (bob,) = users(api, username, "bob")
    assert api.sign_out(bob).status == 204

    with open_stream(backend_service, bob) as stream:
        assert (stream.status, stream.body["error"]) == (401, "session_revoked")
        assert stream.headers["content-type"] == "application/json"
        assert stream.headers["www-authenticate"] == "Bearer"


def test_another_device_signing_out_or_a_rotated_secret_does_not_end_the_stream(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    alice, bob = users(api, username, "alice", "bob")
    other = api.new_session(bob["userId"])
    with open_stream(backend_service, bob) as stream:
        ready(stream)

        assert api.resume(bob).status == 200  # rotates the secret the stream was opened with
        assert api.sign_out(other).status == 204  # wakes the stream, which finds its own live

        message = sent(api.send_message(alice, [bob["userId"]], "still here?"))
        assert stream.next_event(LIVE_S).data == message


def test_a_bound_session_s_stream_needs_its_proof(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    device = Device()
    bob = bound_session(api, f"{username}-bob", device)
    proof = proved(device.proof("GET", "/v1/messages/stream", bob))

    with open_stream(backend_service, bob) as without:
        assert (without.status, without.body["error"]) == (401, "proof_required")
    with open_stream(backend_service, bob, after=0, headers=proof) as proven:
        assert proven.status == 200 and ready(proven) == 0
    with open_stream(backend_service, bob, headers=proof) as replayed:
        assert (replayed.status, replayed.body["error"]) == (401, "proof_invalid")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999"])
def test_a_last_event_id_that_is_not_an_event_number_is_invalid_request(
    api: Api, username: str, value: str
) -> None:
    reply = api.request(
        "GET",
        "/v1/messages/stream",
        headers={**bearer(api.new_session(username)), "Last-Event-ID": value},
    )

    assert_error(reply, 400, "invalid_request")


def test_an_idle_stream_pings_and_notices_an_end_that_nobody_announced(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(stream_ping_interval_s=0.3, **QUIET_LIMITS)
    (bob,) = users(service.api, username, "bob")
    with open_stream(service, bob) as stream:
        ready(stream)
        assert stream.next_event(2.0, pings=True).kind == "ping"

        # Revoked behind the service's back: no wake-up, only the stream's own check sees it.
        with sqlite3.connect(service.data_dir / "auth.sqlite3") as database:
            database.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = 'test' WHERE id = ?",
                (datetime.now(UTC).replace(tzinfo=None).isoformat(" "), bob["sessionId"]),
            )
        started = time.monotonic()

        end = stream.next_event(2.0)
        assert (end.kind, end.data["error"]) == ("end", "session_revoked")
        assert end.received_at - started < 0.3 + END_S


def test_a_message_written_by_another_process_on_the_same_sqlite_file_arrives_at_the_check(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(stream_ping_interval_s=0.3, **QUIET_LIMITS)
    alice, bob = users(service.api, username, "alice", "bob")
    # A second process on the same file: its fan-out cannot wake the first one's streams.
    other = create_app(Settings(data_dir=service.data_dir))
    with open_stream(service, bob) as stream, serve_in_thread(other) as other_url:
        ready(stream)
        started = time.monotonic()
        sent(Api(other_url, service.api.application).send_message(alice, [f"{username}-bob"], "hi"))

        event = stream.next_event(2.0)

        assert (event.kind, event.data["text"]) == ("message", "hi")
        assert event.received_at - started < 0.3 + LIVE_S


def test_a_stream_ends_when_its_session_expires(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(session_ttl_s=2, **QUIET_LIMITS)
    (bob,) = users(service.api, username, "bob")
    expires_at = datetime.fromisoformat(bob["expiresAt"])
    with open_stream(service, bob) as stream:
        ready(stream)

        end = stream.next_event(4.0)

        assert (end.kind, end.data["error"]) == ("end", "session_expired")
        # The session object shows its end to the whole second, cut: it ends within 1 s after.
        assert datetime.now(UTC) - expires_at < timedelta(seconds=1 + END_S)


def test_a_stopping_service_ends_its_streams_instead_of_waiting_for_them(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service(**QUIET_LIMITS)
    (bob,) = users(service.api, username, "bob")
    with open_stream(service, bob) as stream:
        ready(stream)

        # A clean exit: had it waited for the stream to finish, it would have been killed.
        assert service.process.stop() == 0

        assert stream.closes_within(1.0)
