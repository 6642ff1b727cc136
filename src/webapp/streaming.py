"""The seam for the live message stream: a response whose body is read as it arrives, without
blocking Python.

The app's other requests go through the client's `Transport`, which answers with a whole
response; the stream never ends while the session lives, so it has an interface of its own. In
the browser `webapp.browser.fetch_stream.FetchStreamOpener` implements it with `fetch()` and the
body's ReadableStream, awaited from an asyncio task, so Python stays free to handle clicks while
the stream is open (in the worker as on the main thread, with or without JSPI). The app's CPython
tests pass one that reads the real service over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from authclient import HttpRequest, HttpResponse

__all__ = ["MAX_ERROR_BODY_BYTES", "StreamConnection", "StreamOpener", "read_whole_response"]

# An error answer is JSON of a few hundred bytes; more is not worth reading.
MAX_ERROR_BODY_BYTES = 64 * 1024


class StreamConnection(Protocol):
    """An answer whose head has arrived; its body is read piece by piece."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Names in lower case."""
        ...

    async def read_chunk(self) -> bytes:
        """The next bytes of the body as they arrive; b"" once it has ended. Raises `NetworkError`
        when the connection breaks."""
        ...

    def close(self) -> None:
        """Stop reading and drop the connection (at once; idempotent)."""
        ...


class StreamOpener(Protocol):
    @property
    def timeout_s(self) -> float:
        """How long the app lets `open_stream` wait for the answer's head."""
        ...

    async def open_stream(self, request: HttpRequest) -> StreamConnection:
        """Send `request` and wait for the answer's head. Raises `NetworkError` when no answer
        comes; a cancelled wait drops the request."""
        ...


async def read_whole_response(connection: StreamConnection) -> HttpResponse:
    """The rest of an answer that is no stream (an error), as a response, at most
    `MAX_ERROR_BODY_BYTES` of its body; the connection is closed."""
    body = b""
    try:
        while len(body) < MAX_ERROR_BODY_BYTES:
            chunk = await connection.read_chunk()
            if not chunk:
                break
            body += chunk
    finally:
        connection.close()
    return HttpResponse.build(connection.status, connection.headers, body[:MAX_ERROR_BODY_BYTES])
