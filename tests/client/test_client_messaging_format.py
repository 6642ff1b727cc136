"""The message stream's format and values, read by authclient.messaging: pure functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from authclient.backoff import Backoff
from authclient.errors import (
    InvalidArgument,
    SessionRejected,
    SessionRevoked,
    UnexpectedResponse,
)
from authclient.messaging import (
    Delivery,
    Message,
    SseParser,
    StreamCursor,
    StreamEvent,
    parse_recipients,
    read_stream_event,
)

MESSAGE = {
    "id": 41,
    "conversationId": "cnv_abc",
    "from": "alice",
    "to": ["bob", "carol"],
    "text": "<b>hi</b>\u2028there",
    "sentAt": "2026-11-27T20:00:00Z",
    "deliveredTo": {"bob": "2026-11-27T20:00:01Z"},
}
DELIVERY = {
    "messageId": 41,
    "conversationId": "cnv_abc",
    "recipient": "carol",
    "deliveredAt": "2026-11-27T20:00:02Z",
}


def stream_text(*events: tuple[str, int | None, object], newline: str = "\n") -> str:
    text = ": ping" + newline + newline
    for kind, event_id, data in events:
        if event_id is not None:
            text += f"id: {event_id}{newline}"
        text += f"event: {kind}{newline}data: {json.dumps(data, ensure_ascii=False)}{newline}"
        text += newline
    return text


EVENTS = (
    ("ready", None, {"lastEventId": 6}),
    ("message", 7, MESSAGE),
    ("delivered", 8, DELIVERY),
    ("end", None, {"error": "session_revoked", "message": "Signed out."}),
)


def kinds(events: list[StreamEvent]) -> list[tuple[str, int | None]]:
    return [(event.kind, event.event_id) for event in events]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 10_000])
def test_parser_reads_the_same_events_however_the_stream_is_cut(newline: str, size: int) -> None:
    raw = stream_text(*EVENTS, newline=newline).encode("utf-8")
    parser, events = SseParser(), []
    for start in range(0, len(raw), size):
        events += parser.feed(raw[start : start + size])

    assert kinds(events) == [("ready", None), ("message", 7), ("delivered", 8), ("end", None)]
    assert events[1].data == MESSAGE  # U+2028 in a text does not end a line


def test_parser_joins_data_lines_and_skips_unknown_or_broken_events() -> None:
    text = (
        'event: message\nid: 3\ndata: {"a":\ndata: 1}\n\n'
        "event: typing\ndata: {}\n\n"
        "event: message\ndata: not json\n\n"
        "event: message\ndata: [1]\n\n"
        'retry: 10\nevent: ready\ndata:{"lastEventId": 0}\n\n'
    )
    events = SseParser().feed(text)

    assert kinds(events) == [("message", 3), ("ready", None)]
    assert events[0].data == {"a": 1}


def test_an_incomplete_event_waits_for_its_blank_line() -> None:
    parser = SseParser()
    assert parser.feed("id: 9\nevent: delivered\ndata: {}\n") == []
    assert kinds(parser.feed("\n")) == [("delivered", 9)]


def test_stream_events_read_as_values() -> None:
    ready, message, delivery, end = (StreamEvent(k, i, d) for k, i, d in EVENTS)  # type: ignore[arg-type]

    assert read_stream_event(ready) == 6
    read = read_stream_event(message)
    assert isinstance(read, Message)
    assert (read.message_id, read.sender, read.recipients, read.text) == (
        41,
        "alice",
        ("bob", "carol"),
        MESSAGE["text"],
    )
    assert read.delivered_to == {"bob": datetime(2026, 11, 27, 20, 0, 1, tzinfo=UTC)}
    assert read.participants == ("alice", "bob", "carol")
    assert read_stream_event(delivery) == Delivery(
        41, "cnv_abc", "carol", datetime(2026, 11, 27, 20, 0, 2, tzinfo=UTC)
    )
    ended = read_stream_event(end)
    assert isinstance(ended, SessionRevoked)
    assert ended.code == "session_revoked"


def test_an_end_with_an_unknown_code_is_still_a_rejection_of_the_session() -> None:
    ended = read_stream_event(StreamEvent("end", None, {"error": "new_code", "message": "x"}))
    assert isinstance(ended, SessionRejected)


def test_a_receipt_updates_its_message_only() -> None:
    message = Message.from_json(MESSAGE)
    delivery = Delivery.from_json(DELIVERY)

    updated = message.with_delivery(delivery)
    assert set(updated.delivered_to) == {"bob", "carol"}
    assert message.with_delivery(Delivery(40, "cnv_abc", "carol", delivery.delivered_at)) is message


@pytest.mark.parametrize(
    "change",
    [
        {"id": "41"},
        {"id": 0},
        {"to": "bob"},
        {"sentAt": "yesterday"},
        {"sentAt": "2026-11-27T20:00:00"},
        {"deliveredTo": {"bob": None}},
        {"text": None},
        {"from": ""},
        {"from": 7},
    ],
)
def test_a_malformed_message_is_an_unexpected_response(change: dict[str, object]) -> None:
    with pytest.raises(UnexpectedResponse):
        Message.from_json({**MESSAGE, **change})


def test_a_message_of_a_deleted_account_is_from_no_one() -> None:
    message = Message.from_json({**MESSAGE, "from": None})

    assert message.sender is None
    assert message.participants == ("bob", "carol")


def test_message_repr_shows_no_text() -> None:
    assert "hi" not in repr(Message.from_json(MESSAGE))


def test_cursor_resumes_after_the_last_event_and_backs_off_until_a_connection_works() -> None:
    cursor = StreamCursor(Backoff(initial_s=0.5, factor=2.0, max_s=2.0, max_attempts=3))
    assert cursor.after is None

    cursor.take(StreamEvent("ready", None, {"lastEventId": 6}))
    cursor.take(StreamEvent("message", 7, MESSAGE))
    assert cursor.after == 7
    assert [cursor.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]

    # A reconnection resumes after 7; its ready event says so and resets the backoff.
    cursor.take(StreamEvent("ready", None, {"lastEventId": 7}))
    assert cursor.after == 7
    assert cursor.failed() == 0.5


def test_cursor_never_moves_back() -> None:
    cursor = StreamCursor(after=9)
    cursor.take(StreamEvent("ready", None, {"lastEventId": 9}))
    cursor.take(StreamEvent("delivered", 5, DELIVERY))
    assert cursor.after == 9


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("bob", ["bob"]),
        ("bob, carol", ["bob", "carol"]),
        (" bob,,carol\tdave \n", ["bob", "carol", "dave"]),
        ("bob bob, Bob", ["bob", "Bob"]),
        (" , ", []),
    ],
)
def test_recipients_are_separated_by_commas_or_spaces(typed: str, names: list[str]) -> None:
    assert parse_recipients(typed) == names


def test_recipients_must_be_text() -> None:
    with pytest.raises(InvalidArgument):
        parse_recipients(["bob"])  # type: ignore[arg-type]
