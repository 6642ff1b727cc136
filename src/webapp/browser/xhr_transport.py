"""HTTP for the app in a browser worker: a synchronous XMLHttpRequest with a timeout, and the
browser's errors turned into the client's.

In a worker a synchronous XHR blocks only Python, and its timeout works. On the page's main thread
it freezes the whole page until the answer comes, and browsers refuse it a timeout: there the app
uses `fetch_transport.FetchTransport`, and this transport only in a browser without JSPI
(WebKitGTK 2.50), where nothing else can wait for an answer synchronously.

Why not pyodide-http, which did this before: importing it in a cross-origin isolated page starts a
worker of its own, for streaming requests that the app never makes, and in Firefox 153 that start
sometimes never returned: about 3 page loads in 100 stayed on "Starting Python…" for good. The few
lines of it that the app used are here.
"""

from __future__ import annotations

import js
from pyodide.ffi import JsException, to_js

from authclient import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse
from authclient.transport import checked_timeout_s

from .js_errors import client_error

__all__ = ["XhrTransport"]


def _in_worker() -> bool:
    # Asked each time, not at import: a memory snapshot made in a worker may start on a main thread.
    return hasattr(js, "importScripts")


class XhrTransport:
    """A `Transport` for Pyodide in a worker; on the main thread it runs without a timeout
    (`timeout_s` is then None)."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        checked = checked_timeout_s(timeout_s)
        self.in_worker = _in_worker()
        self.timeout_s: float | None = checked if self.in_worker else None

    def __repr__(self) -> str:
        return f"XhrTransport(timeout_s={self.timeout_s})"

    def send(self, request: HttpRequest) -> HttpResponse:
        xhr = js.XMLHttpRequest.new()
        xhr.open(request.method, request.url, False)
        if self.timeout_s is not None:
            xhr.timeout = round(self.timeout_s * 1000)
        if self.in_worker:
            xhr.responseType = "arraybuffer"
        else:
            # A window's synchronous XHR may not ask for bytes; this charset maps each byte to one
            # character (0x80-0xFF to U+F780-U+F7FF), so that the bytes can be read back.
            xhr.overrideMimeType("text/plain; charset=x-user-defined")
        for name, value in request.headers.items():
            xhr.setRequestHeader(name, value)
        try:
            xhr.send(None if request.body is None else to_js(request.body))
        except JsException as exc:
            # A synchronous XHR throws a DOMException named after what went wrong.
            raise client_error(exc, request.origin, timeout_s=self.timeout_s) from exc
        if self.in_worker:
            body = xhr.response.to_bytes()
        else:
            body = bytes(ord(char) & 0xFF for char in str(xhr.responseText))
        return HttpResponse.build(
            int(xhr.status), _parse_headers(str(xhr.getAllResponseHeaders())), body
        )


def _parse_headers(text: str) -> dict[str, str]:
    """`getAllResponseHeaders()`'s "name: value" lines, as a dict (names in lower case)."""
    headers = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers
