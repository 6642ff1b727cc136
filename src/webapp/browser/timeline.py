"""Marks on the browser's performance timeline, for the start-up waterfall that
`benchmarks/page_load.py` prints (docs/performance.md).

A mark is the standard `performance.mark()` of the thread Python runs on: the worker's own timeline
in a worker (no round trip to the page), the page's on the main thread. Names start with "python:";
the page's and the runtime loader's marks start with "page:" and "runtime:" (static/boot.mjs,
static/snapshot-loader.mjs).
"""

from __future__ import annotations

import urllib.parse

import js

from authclient import DeviceSigner, HttpRequest, HttpResponse, Transport

__all__ = ["TimedSigner", "TimedTransport", "mark"]

PREFIX = "python:"


def mark(name: str) -> None:
    js.performance.mark(PREFIX + name)


class TimedTransport:
    """A `Transport` that marks when each request leaves and when its answer (or error) is back."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __repr__(self) -> str:
        return f"TimedTransport({self.transport!r})"

    def send(self, request: HttpRequest) -> HttpResponse:
        what = f"{request.method} {urllib.parse.urlsplit(request.url).path}"
        mark(f"{what} sent")
        try:
            return self.transport.send(request)
        finally:
            mark(f"{what} answered")


class TimedSigner:
    """A `DeviceSigner` that marks each signature's round trip to the page's key (a proof for every
    request of a bound session)."""

    def __init__(self, signer: DeviceSigner) -> None:
        self.signer = signer

    def __repr__(self) -> str:
        return f"TimedSigner({self.signer!r})"

    def public_key(self, *, create: bool) -> dict[str, str] | None:
        return self.signer.public_key(create=create)

    def sign(self, data: bytes) -> bytes | None:
        mark("device key sign asked")
        try:
            return self.signer.sign(data)
        finally:
            mark("device key sign answered")
