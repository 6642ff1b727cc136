"""The browser's errors as the client's: the one translation that every adapter of this package
(`pyodide_http_transport`, `fetch_transport`, `fetch_stream`) makes where a JavaScript call fails.

A failed request reaches Python as a `pyodide.ffi.JsException` wrapping the JavaScript error, whose
`name` tells what went wrong: `TimeoutError` (a DOMException) when the browser gave up waiting, at
the XHR's `timeout` or an `AbortSignal.timeout`; anything else (a `TypeError` for no answer at all,
`NetworkError`, `AbortError`) means the answer did not come. The client distinguishes the two by
type, `Timeout` and `NetworkError`, both retried later with the stored session kept.

Nothing here imports Pyodide, so CPython tests the mapping with any object that has a `name`.
"""

from __future__ import annotations

from authclient.errors import NetworkError, Timeout

__all__ = ["client_error", "js_error_name"]


def js_error_name(error: object) -> str:
    """The JavaScript error's `name`; read from its text ("TimeoutError: ...", as Pyodide writes a
    JsException) when it has none."""
    name = getattr(error, "name", None)
    if isinstance(name, str) and name:
        return name
    return str(error).partition(":")[0].strip()


def client_error(
    error: object, origin: str, *, timeout_s: float | None = None, in_stream: bool = False
) -> Timeout | NetworkError:
    """The client's error for `error`, a JavaScript error that ended a request to `origin`.

    `timeout_s` is the bound the adapter set, for the message; `in_stream` says that the error broke
    off an answer's body while it was being read.
    """
    if js_error_name(error) == "TimeoutError":
        within = "in time" if timeout_s is None else f"within {timeout_s} s"
        return Timeout(f"No answer from {origin} {within}")
    if in_stream:
        return NetworkError(f"The stream from {origin} broke off: {error}")
    return NetworkError(f"Could not reach {origin}: {error}")
