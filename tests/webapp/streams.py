"""The message stream of the app's CPython tests: the real service over real HTTP.

The client's other requests go into the service in-process (`InProcessTransport`), whose answers
are whole; a stream never ends, so the same service app is also served by uvicorn in a thread
(`serving`), and `HttpStreamOpener` reads the stream from there: `webapp.streaming`'s interface on
http.client, a daemon thread per connection handing each piece of the body to the asyncio loop as
it arrives. Both reach one database and one fan-out, so a send made in-process wakes the streams.

The stream shares the network of the tab's transport: while `network.offline` is set (the tests'
switch for "the browser is offline"), no stream opens, and an open one fails at its next piece
instead of delivering it. `break_connections()` cuts the open ones with an error; while `refused`
is set, streams alone cannot be opened (a proxy in the way that does not pass them).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, Protocol

import uvicorn

from authclient import HttpRequest
from authclient.errors import NetworkError

__all__ = ["HttpStreamConnection", "HttpStreamOpener", "serving"]

Address = tuple[str, int]


class Network(Protocol):
    offline: bool


@contextlib.contextmanager
def serving(app: Any) -> Iterator[Address]:
    """`app` served by uvicorn on a free loopback port, in a thread, while the block runs."""
    listener = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="stream-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield listener.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


class HttpStreamOpener:
    """Implements `webapp.streaming.StreamOpener`; connects to `address` whatever the request's
    host (which it still names in `Host`, as the device proof does)."""

    def __init__(self, address: Address, network: Network, timeout_s: float = 5.0) -> None:
        self.address = address
        self.network = network
        self.timeout_s = timeout_s
        self.refused = False
        self.requests: list[HttpRequest] = []
        self.connections: list[HttpStreamConnection] = []

    def __repr__(self) -> str:
        return f"HttpStreamOpener({self.network!r}, open={len(self.open_connections())})"

    async def open_stream(self, request: HttpRequest) -> HttpStreamConnection:
        if self.network.offline or self.refused:
            raise NetworkError(f"Could not reach {request.origin}: offline (simulated)")
        self.requests.append(request)
        connection = HttpStreamConnection(self.address, request, self.network)
        self.connections.append(connection)
        try:
            await connection.opened
        except BaseException:
            connection.close()
            raise
        return connection

    def open_connections(self) -> list[HttpStreamConnection]:
        return [connection for connection in self.connections if not connection.closed]

    def break_connections(self) -> None:
        """The network fails under the open connections."""
        for connection in self.open_connections():
            connection.break_off()

    def afters(self) -> list[str | None]:
        """The `after` of each stream request, in order (None: from now)."""
        found = []
        for request in self.requests:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
            found.append(query.get("after", [None])[0])
        return found


class HttpStreamConnection:
    """Implements `webapp.streaming.StreamConnection`; its thread reads the body."""

    def __init__(self, address: Address, request: HttpRequest, network: Network) -> None:
        self._network = network
        self._loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = self._loop.create_future()
        self._chunks: asyncio.Queue[bytes | NetworkError] = asyncio.Queue()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.closed = False
        self._broken = False
        self._socket = socket.create_connection(address, timeout=10)
        self._socket.settimeout(None)  # the app's stall timeout is the bound, as in the browser
        threading.Thread(target=self._read, args=(address, request), daemon=True).start()

    def __repr__(self) -> str:
        return f"HttpStreamConnection(status={self.status}, closed={self.closed})"

    async def read_chunk(self) -> bytes:
        if self.closed:
            return b""
        chunk = await self._chunks.get()
        if isinstance(chunk, NetworkError):
            raise chunk
        if self._network.offline:
            self.break_off()
            raise NetworkError("The stream broke off: offline (simulated)")
        return chunk

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._cut()

    def break_off(self) -> None:
        self._broken = True
        self._cut()

    def _cut(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()

    def _read(self, address: Address, request: HttpRequest) -> None:
        url = urllib.parse.urlsplit(request.url)
        connection = http.client.HTTPConnection(*address)
        connection.sock = self._socket
        try:
            path = url.path + (f"?{url.query}" if url.query else "")
            headers = {**request.headers, "Host": url.netloc}
            connection.request(request.method, path, body=request.body, headers=headers)
            response = connection.getresponse()
            self.status = response.status
            self.headers = {name.lower(): value for name, value in response.getheaders()}
            self._hand(self._set_opened)
            while chunk := response.read1(65536):
                self._hand(self._chunks.put_nowait, chunk)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failure = NetworkError(f"The stream broke off: {type(exc).__name__}: {exc}")
            self._hand(self._fail, failure)
            return
        if self._broken:
            self._hand(self._fail, NetworkError("The stream broke off (simulated)"))
        else:
            self._hand(self._chunks.put_nowait, b"")

    def _set_opened(self) -> None:
        if not self.opened.done():
            self.opened.set_result(None)

    def _fail(self, failure: NetworkError) -> None:
        if not self.opened.done():
            self.opened.set_exception(failure)
        self._chunks.put_nowait(failure)

    def _hand(self, call: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the test's loop has ended
            self._loop.call_soon_threadsafe(call, *args)
