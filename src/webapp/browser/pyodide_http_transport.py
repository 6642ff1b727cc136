"""HTTP for the app in a browser worker: pyodide-http's synchronous XMLHttpRequest, with the
client's timeout, and the browser's errors turned into the client's.

In a worker a synchronous XHR blocks only Python, and its timeout works. On the page's main thread
it freezes the whole page until the answer comes, and browsers refuse it a timeout: there the app
uses `fetch_transport.FetchTransport`, and this transport only in a browser without JSPI
(WebKitGTK 2.50), where nothing else can wait for an answer synchronously (pyodide-http then sends
without a timeout by itself).

Why pyodide-http's private API, and only here:
- Its public API only patches: `patch_urllib()` replaces `urlopen` for the whole process, throws
  the timeout away and lets a failure escape as a raw `JsException`. `_core.send(_core.Request(...))`
  is the sender behind those patches: it honours `Request.timeout` and patches nothing, so this
  adapter calls it and maps its errors (`js_errors.client_error`).
- `_core` imports `_streaming`, whose module level starts a worker of its own from a blob URL on
  every cross-origin isolated page, for streaming requests that the app never makes (it reads its one
  stream with `fetch()`: `fetch_stream`). In Firefox 153 that start sometimes never returned: about 3
  page loads in 100 stayed on "Starting Python…" for good. So before `_core` is first imported, a
  stand-in for `_streaming` that streams nothing (`_streaming_stand_in`) is registered in its place;
  `_core.send` asks it only for a streamed request (`stream=True`), which this adapter never sends.

tests/build checks that the pyodide-http version locked in requirements/dev.txt (and so bundled in
the app archive) still has the API used here; tests/browser that the worker's requests go through it
and that no worker but PyScript's and the snapshot maker is started.
"""

from __future__ import annotations

import sys
import types

import js
from pyodide.ffi import JsException

from authclient import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse
from authclient.transport import checked_timeout_s

from .js_errors import client_error

__all__ = ["PyodideHttpTransport"]

_STREAMING = "pyodide_http._streaming"


def _streaming_stand_in() -> types.ModuleType:
    """pyodide-http's `_streaming` less the worker it starts at import: what `_core` imports of it,
    `send_streaming_request`, answering as the real one does where it cannot stream (False:
    `_core.send` then sends its plain synchronous XHR)."""
    module = types.ModuleType(_STREAMING, _streaming_stand_in.__doc__)
    module.send_streaming_request = lambda request: False  # type: ignore[attr-defined]
    return module


# Only if nothing imported pyodide-http's `_core` before: that import started its worker already.
sys.modules.setdefault(_STREAMING, _streaming_stand_in())
# Imported after the stand-in is in place: `_core` imports `_streaming` at once.
from pyodide_http import _core


def _in_worker() -> bool:
    # Asked each time, not at import: a memory snapshot made in a worker may start on a main thread.
    return hasattr(js, "importScripts")


class PyodideHttpTransport:
    """A `Transport` for Pyodide in a worker; on the main thread it runs without a timeout
    (`timeout_s` is then None)."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        checked = checked_timeout_s(timeout_s)
        self.timeout_s: float | None = checked if _in_worker() else None

    def __repr__(self) -> str:
        return f"PyodideHttpTransport(timeout_s={self.timeout_s})"

    def send(self, request: HttpRequest) -> HttpResponse:
        outgoing = _core.Request(
            request.method,
            request.url,
            body=request.body,
            headers=dict(request.headers),
            # Seconds; 0 is pyodide-http's "none" (it sets no timeout on a main thread anyway).
            timeout=self.timeout_s or 0,
        )
        try:
            answer = _core.send(outgoing)
        except JsException as exc:
            # A synchronous XHR throws a DOMException named after what went wrong.
            raise client_error(exc, request.origin, timeout_s=self.timeout_s) from exc
        return HttpResponse.build(int(answer.status_code), answer.headers, answer.body)
