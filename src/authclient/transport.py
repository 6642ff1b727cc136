"""The I/O seam: one method, `send(request) -> response`.

A transport answers with the response for any HTTP status (an error status is a response, not an
exception) and raises `NetworkError` or `Timeout` when it gets no response at all.
`UrllibTransport`, the default, is the only code in the package that touches the network. A page
passes its own (the browser app's are in `webapp.browser`: `pyodide_http_transport`,
`fetch_transport`); a test may pass one that calls a service in-process.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from .errors import NetworkError, Timeout

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "HttpRequest",
    "HttpResponse",
    "Transport",
    "UrllibTransport",
    "checked_timeout_s",
]

# How long a request may wait for an answer, unless the caller says otherwise.
DEFAULT_TIMEOUT_S = 10.0

_SECRET_HEADERS = frozenset({"authorization", "cookie", "session-proof"})


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def __repr__(self) -> str:
        # The body may hold a password or a session secret, and so may some headers.
        headers = {
            name: "***" if name.lower() in _SECRET_HEADERS else value
            for name, value in self.headers.items()
        }
        size = 0 if self.body is None else len(self.body)
        return f"HttpRequest({self.method} {self.url}, headers={headers}, body=<{size} bytes>)"

    @property
    def origin(self) -> str:
        """Where the request goes, for messages: "https://example.com:8443"."""
        parts = urllib.parse.urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""

    @classmethod
    def build(cls, status: int, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        return cls(status, {name.lower(): value for name, value in headers.items()}, body)

    def __repr__(self) -> str:
        # A session object in the body carries a secret: show its size only.
        return f"HttpResponse({self.status}, body=<{len(self.body)} bytes>)"


class Transport(Protocol):
    def send(self, request: HttpRequest) -> HttpResponse:
        """The response to `request`, whatever its status; `NetworkError` or `Timeout` if none."""
        ...


def checked_timeout_s(timeout_s: object, name: str = "timeout_s") -> float:
    """`timeout_s` if it is a positive number of seconds, else ValueError.

    >>> checked_timeout_s(2)
    2.0
    """
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not timeout_s > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {timeout_s!r}")
    return float(timeout_s)


class UrllibTransport:
    """HTTP through `urllib.request`, always with a timeout (per connect and per read)."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = checked_timeout_s(timeout_s)

    def __repr__(self) -> str:
        return f"UrllibTransport(timeout_s={self.timeout_s})"

    def send(self, request: HttpRequest) -> HttpResponse:
        with self._failures(request):
            return self._exchange(request)

    @contextmanager
    def streaming(self, request: HttpRequest) -> Iterator[tuple[HttpResponse, Iterator[bytes]]]:
        """Open `request` for a body that keeps coming (a stream): its response without the
        body, and the body a line at a time, each read within `timeout_s`. An error status
        comes with its whole body and no lines."""
        with self._failures(request):
            opened = self._open(request)
        with opened:
            if not 200 <= opened.status < 300:
                with self._failures(request):
                    body = opened.read()
                yield self._response(opened, body), iter(())
                return
            yield self._response(opened, b""), self._lines(opened, request)

    def _lines(self, opened: http.client.HTTPResponse, request: HttpRequest) -> Iterator[bytes]:
        while True:
            with self._failures(request):
                line = opened.readline()
            if not line:
                return
            yield line

    @contextmanager
    def _failures(self, request: HttpRequest) -> Iterator[None]:
        """No answer, as NetworkError or Timeout."""
        where = request.origin
        try:
            yield
        except TimeoutError as exc:
            raise Timeout(f"No answer from {where} within {self.timeout_s} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise Timeout(f"No answer from {where} within {self.timeout_s} s") from exc
            raise NetworkError(f"Could not reach {where}: {exc.reason}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise NetworkError(f"Could not reach {where}: {type(exc).__name__}") from exc

    def _exchange(self, request: HttpRequest) -> HttpResponse:
        with self._open(request) as response:
            return self._response(response, response.read())

    def _open(self, request: HttpRequest) -> http.client.HTTPResponse:
        prepared = urllib.request.Request(
            request.url, data=request.body, headers=dict(request.headers), method=request.method
        )
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(
                prepared, timeout=self.timeout_s
            )
        except urllib.error.HTTPError as exc:
            return exc  # type: ignore[return-value]  # an error status: still a response
        return response

    @staticmethod
    def _response(response: http.client.HTTPResponse, body: bytes) -> HttpResponse:
        return HttpResponse.build(response.status, dict(response.headers.items()), body)
