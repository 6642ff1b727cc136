"""HTTP for the app on the page's main thread: `fetch()`, awaited through JSPI, with a timeout.

Where a worker cannot reach the page (WebKitGTK has no SharedArrayBuffer), the app's Python runs on
the page's main thread. A synchronous XMLHttpRequest there freezes the whole page until the answer
comes, and browsers refuse it a timeout. With JavaScript Promise Integration (JSPI, which Chromium
and Firefox have) Pyodide can instead suspend the Python stack while the browser's `fetch()` runs
(`pyodide.ffi.run_sync`): the client's code stays synchronous, the page stays live meanwhile, and
an `AbortSignal.timeout` bounds the wait.

`run_sync` works only in a call that Pyodide entered with JSPI: PyScript's run of the entry script,
asyncio tasks, and callbacks of the event loop. That is why `DomPage` hands every event to the app
through the event loop. `send()` refuses to run anywhere else rather than freeze the page.

Where there is no JSPI (WebKitGTK 2.50), `main` uses `PyodideHttpTransport` on the main thread
instead, and says so in the console: there each request freezes the page while it waits, and the
browser's own network timeout is its only bound.
"""

from __future__ import annotations

import js
from pyodide.ffi import JsException, can_run_sync, run_sync, to_js

from authclient import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse
from authclient.transport import checked_timeout_s

from .js_errors import client_error

__all__ = ["FetchTransport", "jspi_available"]


def jspi_available() -> bool:
    """Whether this call may wait for a JavaScript promise (JSPI, in a call entered through it)."""
    return bool(can_run_sync())


class FetchTransport:
    """A `Transport` for Pyodide on the page's main thread, in a browser with JSPI."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = checked_timeout_s(timeout_s)

    def __repr__(self) -> str:
        return f"FetchTransport(timeout_s={self.timeout_s})"

    def send(self, request: HttpRequest) -> HttpResponse:
        if not jspi_available():
            raise RuntimeError(
                "FetchTransport.send() was called outside a call that Pyodide entered with JSPI; "
                "run it from an asyncio task or an event-loop callback"
            )
        init = {
            "method": request.method,
            "headers": dict(request.headers),
            # The timeout covers the answer's body too: the signal aborts its reading.
            "signal": js.AbortSignal.timeout(round(self.timeout_s * 1000)),
        }
        if request.body is not None:
            init["body"] = to_js(request.body)
        try:
            options = to_js(init, dict_converter=js.Object.fromEntries)
            response = run_sync(js.fetch(request.url, options))
            body = run_sync(response.arrayBuffer()).to_bytes()
        except JsException as exc:
            # fetch() rejects with a DOMException named TimeoutError once the signal fires, and
            # with a TypeError when no answer came at all.
            raise client_error(exc, request.origin, timeout_s=self.timeout_s) from exc
        headers = {str(name): str(value) for name, value in response.headers.entries()}
        return HttpResponse.build(int(response.status), headers, body)
