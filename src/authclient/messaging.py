"""Instant messages between signed-in users of one application (docs/api.md, Messages).

`Messenger` sends, lists and acknowledges messages with a `SessionClient`'s session. The live
stream of incoming messages and receipts is Server-Sent Events: `SseParser` reads it from chunks
of any size, `read_stream_event` turns each event into a value, and `StreamCursor` keeps what a
follower of the stream needs across reconnections (the last event id, the backoff). In CPython
`Messenger.open_stream()` reads one connection through urllib; the page reads it with the
browser's `fetch` (webapp), through the same parser and cursor.

    >>> parse_recipients("bob, carol  dave,bob")
    ['bob', 'carol', 'dave']
    >>> [(e.kind, e.event_id) for e in SseParser().feed('id: 7\\nevent: message\\ndata: {}\\n\\n')]
    [('message', 7)]
"""

from __future__ import annotations

import codecs
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import protocol
from .backoff import Backoff
from .client import SessionClient
from .errors import AuthError, InvalidArgument, SessionRejected, UnexpectedResponse
from .session import parse_time
from .transport import HttpRequest, HttpResponse, UrllibTransport

__all__ = [
    "MAX_TEXT_CHARS",
    "STREAM_READ_TIMEOUT_S",
    "Conversation",
    "ConversationPage",
    "Delivery",
    "Message",
    "MessagePage",
    "Messenger",
    "SseParser",
    "StreamCursor",
    "StreamEvent",
    "parse_recipients",
    "read_stream_event",
]

# The service's limit on a message (docs/api.md); checked here too, so that a long text is
# refused before it is sent and what was typed is kept.
MAX_TEXT_CHARS = 2000
# The service sends a ping at least every 15 s: a stream silent for this long is dead.
STREAM_READ_TIMEOUT_S = 45.0

_RECIPIENT_SEPARATORS = re.compile(r"[\s,]+")
# Only these end a line in an event stream (str.splitlines knows more, such as U+2028).
_LINE_END = re.compile(r"\r\n|\r|\n")
_STREAM_KINDS = frozenset({"ready", "message", "delivered", "end"})


def parse_recipients(text: str) -> list[str]:
    """The usernames in `text`, separated by commas and/or whitespace, each once, in order."""
    if not isinstance(text, str):
        raise InvalidArgument("recipients must be a string or a list of usernames")
    return list(dict.fromkeys(name for name in _RECIPIENT_SEPARATORS.split(text) if name))


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    message_id: int
    conversation_id: str
    sender: str | None  # None: an account deleted since (docs/api.md, "Messages")
    recipients: tuple[str, ...]
    text: str
    sent_at: datetime
    delivered_to: Mapping[str, datetime] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> Message:
        item = _object(data, "message")
        delivered = _object(item.get("deliveredTo"), "message")
        return cls(
            message_id=_int(item.get("id"), "message"),
            conversation_id=_str(item.get("conversationId"), "message"),
            sender=None if item.get("from", "") is None else _str(item.get("from"), "message"),
            recipients=tuple(_str(name, "message") for name in _list(item.get("to"), "message")),
            text=_str(item.get("text"), "message", empty=True),
            sent_at=_time(item.get("sentAt"), "message"),
            delivered_to={
                _str(name, "message"): _time(at, "message") for name, at in delivered.items()
            },
        )

    def __repr__(self) -> str:
        # The text is the user's own words: show its size only, as for any body.
        return (
            f"Message(id={self.message_id}, from={self.sender!r}, to={list(self.recipients)!r},"
            f" text=<{len(self.text)} chars>)"
        )

    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(
            sorted({*([self.sender] if self.sender is not None else []), *self.recipients})
        )

    def with_delivery(self, delivery: Delivery) -> Message:
        """This message with `delivery` recorded (a receipt that arrived on the stream)."""
        if delivery.message_id != self.message_id:
            return self
        delivered = {**self.delivered_to, delivery.recipient: delivery.delivered_at}
        return Message(
            self.message_id,
            self.conversation_id,
            self.sender,
            self.recipients,
            self.text,
            self.sent_at,
            delivered,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """A receipt: `recipient` has received message `message_id`."""

    message_id: int
    conversation_id: str
    recipient: str
    delivered_at: datetime

    @classmethod
    def from_json(cls, data: object) -> Delivery:
        item = _object(data, "receipt")
        return cls(
            message_id=_int(item.get("messageId"), "receipt"),
            conversation_id=_str(item.get("conversationId"), "receipt"),
            recipient=_str(item.get("recipient"), "receipt"),
            delivered_at=_time(item.get("deliveredAt"), "receipt"),
        )


@dataclass(frozen=True, slots=True)
class Conversation:
    conversation_id: str
    participants: tuple[str, ...]
    last_message: Message

    @classmethod
    def from_json(cls, data: object) -> Conversation:
        item = _object(data, "conversation")
        names = _list(item.get("participants"), "conversation")
        return cls(
            conversation_id=_str(item.get("conversationId"), "conversation"),
            participants=tuple(_str(name, "conversation") for name in names),
            last_message=Message.from_json(item.get("lastMessage")),
        )


@dataclass(frozen=True, slots=True)
class MessagePage:
    """Messages of one conversation, newest first; `more` if older ones remain."""

    messages: tuple[Message, ...]
    more: bool


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """Conversations by their last message, newest first; `more` if older ones remain."""

    conversations: tuple[Conversation, ...]
    more: bool


# -- the stream ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One Server-Sent Event of the stream, its data parsed as JSON."""

    kind: str
    event_id: int | None
    data: Mapping[str, Any]


class SseParser:
    """Server-Sent Events (the WHATWG format) from chunks of text or bytes, split anywhere.

    Events of kinds this client does not know, and events whose data is not a JSON object, are
    skipped, as the format asks of unknown events.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._after_cr = False
        self._kind = ""
        self._event_id: str | None = None
        self._data: list[str] = []

    def __repr__(self) -> str:
        return f"SseParser(pending=<{len(self._pending)} chars>)"

    def feed(self, chunk: str | bytes) -> list[StreamEvent]:
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        if self._after_cr and text:
            # A line ended with "\r" at the end of the last chunk: a "\n" here belongs to it.
            text = text.removeprefix("\n")
            self._after_cr = False
        buffer, start, events = self._pending + text, 0, []
        for end in _LINE_END.finditer(buffer):
            event = self._line(buffer[start : end.start()])
            start = end.end()
            if event is not None:
                events.append(event)
        self._pending = buffer[start:]
        self._after_cr = buffer.endswith("\r")
        return events

    def _line(self, line: str) -> StreamEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: the service's ping
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._kind = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._event_id = value
        return None

    def _dispatch(self) -> StreamEvent | None:
        kind, event_id, data = self._kind or "message", self._event_id, "\n".join(self._data)
        self._kind, self._event_id, self._data = "", None, []
        if kind not in _STREAM_KINDS:
            return None
        try:
            parsed = json.loads(data)
        except ValueError:
            return None
        if not isinstance(parsed, dict):
            return None
        number = int(event_id) if event_id and event_id.isdigit() else None
        return StreamEvent(kind, number, parsed)


def read_stream_event(event: StreamEvent) -> Message | Delivery | int | AuthError:
    """`ready`: the event id the stream starts after; `message`, `delivered`: the value;
    `end`: the error that ended the session (a `SessionRejected`)."""
    if event.kind == "ready":
        return _int(event.data.get("lastEventId"), "stream", minimum=0)
    if event.kind == "message":
        return Message.from_json(event.data)
    if event.kind == "delivered":
        return Delivery.from_json(event.data)
    response = HttpResponse(401, {}, json.dumps(dict(event.data)).encode("utf-8"))
    error = protocol.error_from_response(response)
    if not isinstance(error, SessionRejected):
        return SessionRejected(error.message, code=error.code, status=401)
    return error


class StreamCursor:
    """What following the stream keeps between connections: the last event id seen (so a new
    connection resumes after it, losing and repeating nothing) and the backoff after failures.

    >>> cursor = StreamCursor(Backoff(initial_s=1.0, max_s=4.0, max_attempts=10))
    >>> cursor.take(StreamEvent("ready", None, {"lastEventId": 3}))
    3
    >>> cursor.after, [cursor.failed() for _ in range(4)]
    (3, [1.0, 2.0, 4.0, 4.0])
    >>> cursor.take(StreamEvent("ready", None, {"lastEventId": 3})); cursor.failed()
    3
    1.0
    """

    def __init__(self, backoff: Backoff | None = None, *, after: int | None = None) -> None:
        self.backoff = backoff or Backoff(initial_s=1.0, max_s=30.0, max_attempts=1_000_000)
        self.after = after
        self._delays: Iterator[float] | None = None

    def __repr__(self) -> str:
        return f"StreamCursor(after={self.after})"

    def take(self, event: StreamEvent) -> Message | Delivery | int | AuthError:
        """The value of `event`, remembering how far the stream has come. A `ready` event means
        the connection works: the backoff starts again from its first delay."""
        value = read_stream_event(event)
        if event.kind == "ready":
            self._delays = None
            if self.after is None and isinstance(value, int):
                self.after = value
        if event.event_id is not None and (self.after is None or event.event_id > self.after):
            self.after = event.event_id
        return value

    def failed(self) -> float:
        """Seconds to wait before the next connection, after one failed or dropped."""
        if self._delays is None:
            self._delays = self.backoff.delays()
        return next(self._delays, self.backoff.max_s)


# -- the calls -------------------------------------------------------------------------------


class Messenger:
    """Messages of the user signed in on `client` (a `SessionClient`).

    A refusal of the session on any call drops it, as the client's own calls do
    (SESSION_REJECTED); a network failure drops nothing.
    """

    def __init__(self, client: SessionClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"Messenger(user_id={self._client.user_id!r})"

    def send_message(self, to: str | Iterable[str], text: str) -> Message:
        """Send `text` to `to`: usernames, or a string of them separated by commas or spaces.

        `InvalidArgument` (nothing sent) for no recipient or a text the service would refuse;
        `UnknownRecipients` names users the application does not have.
        """
        recipients = parse_recipients(to) if isinstance(to, str) else list(to)
        if not recipients or not all(isinstance(name, str) and name for name in recipients):
            raise InvalidArgument("Name at least one recipient.")
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("Write a message first.")
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidArgument(
                f"A message can have at most {MAX_TEXT_CHARS} characters; this one has {len(text)}."
            )
        body = {"to": recipients, "text": text}
        data = protocol.read_json(self._client.session_call("POST", "/messages", body), 201)
        return Message.from_json(data.get("message"))

    def list_conversations(self, *, before: int | None = None, limit: int = 50) -> ConversationPage:
        path = "/conversations" + _page_query(before, limit)
        data = protocol.read_json(self._client.session_call("GET", path), 200)
        items = _list(data.get("conversations"), "conversation list")
        return ConversationPage(
            tuple(Conversation.from_json(item) for item in items), data.get("more") is True
        )

    def list_messages(
        self, conversation_id: str, *, before: int | None = None, limit: int = 50
    ) -> MessagePage:
        if not isinstance(conversation_id, str) or not conversation_id:
            raise InvalidArgument("conversation_id must be a non-empty string")
        path = (
            "/conversations/"
            + urllib.parse.quote(conversation_id, safe="")
            + "/messages"
            + _page_query(before, limit)
        )
        data = protocol.read_json(self._client.session_call("GET", path), 200)
        items = _list(data.get("messages"), "message list")
        return MessagePage(
            tuple(Message.from_json(item) for item in items), data.get("more") is True
        )

    def mark_delivered(self, message_ids: Iterable[int]) -> None:
        """Tell the senders that these messages reached this user (their delivered mark)."""
        ids = list(dict.fromkeys(message_ids))
        if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
            raise InvalidArgument("message ids must be positive integers")
        for start in range(0, len(ids), 100):  # the service takes 100 at a time
            body = {"messageIds": ids[start : start + 100]}
            protocol.read_no_content(self._client.session_call("POST", "/messages/delivered", body))

    def stream_request(self, after: int | None = None) -> HttpRequest:
        """GET /v1/messages/stream with this session, for a streaming transport to open."""
        query = "" if after is None else f"?after={_count(after, 'after', minimum=0)}"
        request = self._client.session_request("GET", "/messages/stream" + query)
        headers = {**request.headers, "Accept": "text/event-stream"}
        return HttpRequest(request.method, request.url, headers, request.body)

    def open_stream(
        self, after: int | None = None, *, read_timeout_s: float = STREAM_READ_TIMEOUT_S
    ) -> Iterator[StreamEvent]:
        """One connection to the stream, in CPython: its events as they come, until the service
        ends it (an `end` event, which is the last) or the connection closes. Refused at once
        (`SessionRejected`, the session dropped) if the session is; `NetworkError` or `Timeout`
        when the connection cannot be made or falls silent."""
        request = self.stream_request(after)
        session_id = _session_id(self._client)
        with UrllibTransport(read_timeout_s).streaming(request) as (response, lines):
            if not 200 <= response.status < 300:
                self._refused(response, session_id)
            parser = SseParser()
            for line in lines:
                for event in parser.feed(line):
                    yield event
                    if event.kind == "end":
                        self._ended(event, session_id)
                        return

    def _ended(self, event: StreamEvent, session_id: str | None) -> None:
        end = read_stream_event(event)
        if isinstance(end, SessionRejected):
            self._client.reject_session(end, session_id)

    def _refused(self, response: HttpResponse, session_id: str | None) -> None:
        error = protocol.error_from_response(response)
        if isinstance(error, SessionRejected):
            self._client.reject_session(error, session_id)
        raise error


def _page_query(before: int | None, limit: int) -> str:
    query = {"limit": _count(limit, "limit", minimum=1)}
    if before is not None:
        query["before"] = _count(before, "before", minimum=1)
    return "?" + urllib.parse.urlencode(query)


def _count(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _session_id(client: SessionClient) -> str | None:
    session = client.get_session()
    return session["sessionId"] if session else None


# -- reading the service's JSON: anything unexpected is UnexpectedResponse --------------------


def _malformed(what: str) -> UnexpectedResponse:
    return UnexpectedResponse(f"The service answered with a malformed {what}")


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(what)
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _malformed(what)
    return value


def _str(value: object, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or not (value or empty):
        raise _malformed(what)
    return value


def _int(value: object, what: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _malformed(what)
    return value


def _time(value: object, what: str) -> datetime:
    parsed = parse_time(_str(value, what))
    if parsed is None:
        raise _malformed(what)
    return parsed
