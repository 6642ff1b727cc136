"""The live message stream in the browser: `fetch()` and its body's ReadableStream, awaited from an
asyncio task (`webapp.streaming` is the interface).

Awaiting a JavaScript promise from a coroutine needs no JSPI: Pyodide's event loop resumes the task
when the promise settles, and until then Python handles clicks and runs the app's other tasks. So
the same code serves the worker and the page's main thread, in every engine. A synchronous XHR (the
app's transport in the worker) would hold Python for as long as the stream stays open.

The browser's errors become the client's (`js_errors`); an `AbortController` ends the request
when the app closes the stream or stops waiting for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import js
from pyodide.ffi import JsException, to_js

from authclient import DEFAULT_TIMEOUT_S, HttpRequest
from authclient.transport import checked_timeout_s

from .js_errors import client_error

__all__ = ["FetchStreamConnection", "FetchStreamOpener"]


class FetchStreamOpener:
    """Implements `webapp.streaming.StreamOpener`."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = checked_timeout_s(timeout_s)

    def __repr__(self) -> str:
        return f"FetchStreamOpener(timeout_s={self.timeout_s})"

    async def open_stream(self, request: HttpRequest) -> FetchStreamConnection:
        controller = js.AbortController.new()
        init = {
            "method": request.method,
            "headers": dict(request.headers),
            "signal": controller.signal,
            # An event stream must never come from a cache.
            "cache": "no-store",
        }
        try:
            options = to_js(init, dict_converter=js.Object.fromEntries)
            response = await js.fetch(request.url, options)
        except JsException as exc:
            controller.abort()
            raise client_error(exc, request.origin) from exc
        except BaseException:  # cancelled: nobody waits for this answer any more
            controller.abort()
            raise
        headers = {str(name).lower(): str(value) for name, value in response.headers.entries()}
        # A body-less answer has no stream to read (body is null).
        reader = response.body.getReader() if response.body else None
        return FetchStreamConnection(int(response.status), headers, reader, controller, request)


class FetchStreamConnection:
    """Implements `webapp.streaming.StreamConnection` over a fetch() response."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        reader: Any,
        controller: Any,
        request: HttpRequest,
    ) -> None:
        self.status = status
        self.headers = headers
        self._reader = reader
        self._controller = controller
        self._origin = request.origin
        self._closed = False

    def __repr__(self) -> str:
        return f"FetchStreamConnection(status={self.status}, closed={self._closed})"

    async def read_chunk(self) -> bytes:
        if self._reader is None or self._closed:
            return b""
        try:
            result = await self._reader.read()
        except JsException as exc:
            raise client_error(exc, self._origin, in_stream=True) from exc
        if result.done:
            return b""
        return bytes(result.value.to_bytes())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            # Ends the request, and any read still waiting, whatever state it is in.
            self._controller.abort()
