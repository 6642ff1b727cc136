"""A message stream (`GET /v1/messages/stream`) read from a plain socket, a byte at a time as it
comes: HTTP/1.1, chunked transfer coding and Server-Sent Events parsed here from their specs,
without the service's or the client library's code."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tests.service.helpers import bearer

# Long enough for a loaded machine; what a test asserts about time it measures itself.
DEFAULT_WAIT_S = 10.0


@dataclass(frozen=True)
class SseEvent:
    """One event (`kind` "ping" for a comment line); `data` is the parsed JSON."""

    kind: str
    event_id: int | None
    data: Any
    received_at: float  # time.monotonic()


class StreamClosed(Exception):
    """The service closed the stream."""


class EventStream:
    """Opens the stream on construction and reads the answer's head: `status`, `headers` (names
    in lower case) and, when it is not 200, `body` (the JSON error)."""

    def __init__(
        self,
        base_url: str,
        session: Mapping[str, Any],
        *,
        after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        path = "/v1/messages/stream" + ("" if after is None else f"?after={after}")
        request_headers = {"Host": parsed.netloc, **bearer(session), **(headers or {})}
        lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in request_headers.items())]
        self._socket = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
        self._socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._raw = b""  # received, not yet decoded from chunks
        self._text = ""  # decoded, not yet parsed into events
        self._ended = False  # the last chunk came, or the connection closed
        head = self._read_until(b"\r\n\r\n", DEFAULT_WAIT_S)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines)
        }
        self.body: Any = None
        if self.status != 200:
            self.body = json.loads(self._read_body())

    def __repr__(self) -> str:
        return f"EventStream(status={self.status}, ended={self._ended})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close()

    @property
    def local_port(self) -> int:
        """The client's end of the connection."""
        return int(self._socket.getsockname()[1])

    def next_event(self, timeout_s: float = DEFAULT_WAIT_S, *, pings: bool = False) -> SseEvent:
        """The next event (pings skipped unless `pings`); TimeoutError if none comes in time,
        StreamClosed once the stream has ended."""
        deadline = time.monotonic() + timeout_s
        while True:
            event = self._parse_one()
            if event is not None:
                if pings or event.kind != "ping":
                    return event
                continue
            if self._ended:
                raise StreamClosed(repr(self))
            self._decode_chunks(deadline)

    def events(self, count: int, timeout_s: float = DEFAULT_WAIT_S) -> list[SseEvent]:
        deadline = time.monotonic() + timeout_s
        return [self.next_event(deadline - time.monotonic()) for _ in range(count)]

    def assert_quiet(self, for_s: float) -> None:
        """No event (pings aside) within `for_s`."""
        try:
            event = self.next_event(for_s)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {event}")

    def closes_within(self, timeout_s: float) -> bool:
        """Whether the stream ends (the last chunk, or the connection closed) in time, after
        whatever events are still to come."""
        deadline = time.monotonic() + timeout_s
        while not self._ended:
            try:
                self._decode_chunks(deadline)
            except TimeoutError:
                return False
        return True

    # -- HTTP ---------------------------------------------------------------------------------

    def _receive(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no more bytes in time")
        self._socket.settimeout(remaining)
        try:
            data = self._socket.recv(65536)
        except TimeoutError:
            raise TimeoutError("no more bytes in time") from None
        if not data:
            self._ended = True
            raise StreamClosed("the connection closed")
        self._raw += data

    def _read_until(self, marker: bytes, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while marker not in self._raw:
            self._receive(deadline)
        found, _, self._raw = self._raw.partition(marker)
        return found

    def _read_body(self) -> bytes:
        length = self.headers.get("content-length")
        deadline = time.monotonic() + DEFAULT_WAIT_S
        if length is not None:
            while len(self._raw) < int(length):
                self._receive(deadline)
            return self._raw[: int(length)]
        body = b""
        while not self._ended:
            body += self._next_chunk(deadline)
        return body

    def _decode_chunks(self, deadline: float) -> None:
        """At least one more chunk into `_text`; or `_ended`."""
        try:
            self._text += self._next_chunk(deadline).decode()
        except StreamClosed:
            self._ended = True

    def _next_chunk(self, deadline: float) -> bytes:
        while b"\r\n" not in self._raw:
            self._receive(deadline)
        size_line, _, rest = self._raw.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(rest) < size + 2:
            self._receive(deadline)
            size_line, _, rest = self._raw.partition(b"\r\n")
        self._raw = rest[size + 2 :]
        if size == 0:
            self._ended = True
        return rest[:size]

    # -- Server-Sent Events -------------------------------------------------------------------

    def _parse_one(self) -> SseEvent | None:
        block, separator, rest = self._text.partition("\n\n")
        if not separator:
            return None
        self._text = rest
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                return SseEvent("ping", None, line[1:].strip(), time.monotonic())
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        event_id = int(fields["id"]) if "id" in fields else None
        data = json.loads(fields["data"]) if "data" in fields else None
        return SseEvent(fields.get("event", "message"), event_id, data, time.monotonic())
