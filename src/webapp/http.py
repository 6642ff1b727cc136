"""urllib in the browser: pyodide-http, plus the timeout it leaves out.

pyodide-http 0.2.2 turns `urllib.request.urlopen` into a synchronous XMLHttpRequest but drops
urlopen's `timeout` argument, so a service that accepts the connection and never answers would hold
the request for as long as the browser allows. Its XHR sender does honour `Request.timeout` (in a
worker, where a synchronous XHR may have one): `install()` passes urlopen's timeout through to it,
and turns the browser's TimeoutError into Python's, which the client reports as a timeout.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import pyodide_http
from pyodide.ffi import JsException
from pyodide_http import _core, _urllib

# The timeout of the urlopen call in progress (requests are synchronous: one at a time).
_timeout_s: float | None = None


def install() -> None:
    pyodide_http.patch_all()
    _urllib.send = _send_with_timeout
    urllib.request.urlopen = _urlopen
    urllib.request.OpenerDirector.open = lambda self, url, *args, **kwargs: _urlopen(
        url, *args, **kwargs
    )


def _urlopen(
    url: Any, data: bytes | None = None, timeout: float | None = None, **kwargs: Any
) -> Any:
    global _timeout_s
    _timeout_s = timeout
    try:
        return _urllib.urlopen(url, data, **kwargs)
    finally:
        _timeout_s = None


def _send_with_timeout(request: _core.Request, stream: bool = False) -> _core.Response:
    if _timeout_s:
        request.timeout = _timeout_s
    try:
        return _core.send(request, stream)
    except JsException as exc:
        if "TimeoutError" in f"{getattr(exc, 'name', '')} {exc}":
            raise TimeoutError(f"no answer within {_timeout_s} s") from exc
        raise
