"""HTTP for the app in a browser worker: a synchronous XMLHttpRequest through pyodide-http, with a
timeout, and the browser's errors turned into the client's.

Why pyodide-http's private `_core`: its public API only patches `urllib` and `requests` for the whole
process, and its patched `urlopen` drops the timeout. `_core.send(_core.Request(...))` is the sender
behind those patches and honours `Request.timeout`, so this adapter calls it directly and patches
nothing. The build bundles the pyodide-http version pinned in the lock (0.2.2), which a build test
checks, so a change in that private API cannot arrive unnoticed.

Worker only: on the main thread a synchronous XHR freezes the page and browsers refuse it a timeout.
A page whose Python runs on the main thread needs another `Transport` (fetch, awaited through JSPI),
and nothing else in the app changes.
"""

from __future__ import annotations

from pyodide.ffi import JsException
from pyodide_http import _core

from authclient import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse
from authclient.errors import NetworkError, Timeout
from authclient.transport import checked_timeout_s

__all__ = ["XhrTransport"]


class XhrTransport:
    """A `Transport` for Pyodide in a worker."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = checked_timeout_s(timeout_s)

    def __repr__(self) -> str:
        return f"XhrTransport(timeout_s={self.timeout_s})"

    def send(self, request: HttpRequest) -> HttpResponse:
        xhr_request = _core.Request(
            request.method,
            request.url,
            headers=dict(request.headers),
            body=request.body,
            timeout=self.timeout_s,
        )
        try:
            answer = _core.send(xhr_request)
        except JsException as exc:
            # A synchronous XHR throws a DOMException named after what went wrong.
            if getattr(exc, "name", "") == "TimeoutError" or "TimeoutError" in str(exc):
                raise Timeout(f"No answer from {request.origin} within {self.timeout_s} s") from exc
            raise NetworkError(f"Could not reach {request.origin}: {exc}") from exc
        return HttpResponse.build(answer.status_code, answer.headers, answer.body)
