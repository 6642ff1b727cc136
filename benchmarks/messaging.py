"""Message delivery latency: from the send to its arrival on the recipient's stream, p50 and p99.

    .venv/bin/python benchmarks/messaging.py [--messages 200] [--streams 1 200]

Two services, one after the other, on loopback, without an access log:
- `python -m authservice serve` on SQLite with 1 worker (the in-process fan-out),
- the same on PostgreSQL with 4 workers (NOTIFY/LISTEN), a throw-away cluster with its durable
  settings (harness.postgres), reached over a Unix socket.
For each, with 1 and with 200 streams open (200 users, each one stream), one sender sends
`--messages` messages, one at a time over one kept-alive connection, each to one of the streamed
users picked at random, and waits for it to arrive. The latency of a message runs from just before
its `POST /v1/messages` to its event on the recipient's stream, as read from the socket; the
send's own answer time is printed beside it. The streams are plain sockets, read by one thread
with a selector; the kernel spreads them over the workers, so most messages cross from one worker
to another. Everything shares the machine's cores. It prints figures and asserts nothing, and takes
about a minute.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import selectors
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from authservice import Application, sign_ticket
from harness.postgres import PostgresCluster
from harness.processes import AuthServiceProcess

# No limit in the way: every sign-in is a ticket from 127.0.0.1, and one user sends them all.
UNLIMITED: dict[str, Any] = {
    "login_attempts_per_ip": 1_000_000,
    "messages_per_minute": 1_000_000,
}
WARMUP_MESSAGES = 20
ARRIVAL_TIMEOUT_S = 10.0
_TEXT = re.compile(rb'"text":"m(\d+)"')


@dataclass(frozen=True)
class Figures:
    latency_ms: list[float]  # send to arrival
    answer_ms: list[float]  # send to the send's own answer

    def __str__(self) -> str:
        return (
            f"delivery p50 {_percentile(self.latency_ms, 50):6.1f} "
            f"p99 {_percentile(self.latency_ms, 99):6.1f} ms   "
            f"send answered p50 {_percentile(self.answer_ms, 50):6.1f} "
            f"p99 {_percentile(self.answer_ms, 99):6.1f} ms   (n={len(self.latency_ms)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200, help="per run (default: 200)")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 200])
    args = parser.parse_args()

    print(f"{os.cpu_count()} cores; load average at start {_load()}", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as work, PostgresCluster.create(durable=True) as cluster:
        runs = [("SQLite, 1 worker", None, 1), ("PostgreSQL, 4 workers", cluster, 4)]
        for number, (name, database, workers) in enumerate(runs):
            url = database.create_database() if database else None
            with auth_service(Path(work) / f"data-{number}", url, workers) as (base, application):
                print(f"{name}: {base}", flush=True)
                for streams in args.streams:
                    figures = measure(base, application, streams, args.messages)
                    print(f"  {streams:>3} streams: {figures}", flush=True)
    print(f"load average at end {_load()}; {time.monotonic() - started:.0f} s in all")


@contextmanager
def auth_service(
    data_dir: Path, database_url: str | None, workers: int
) -> Iterator[tuple[str, Application]]:
    with AuthServiceProcess(
        data_dir, database_url=database_url, workers=workers, no_access_log=True, **UNLIMITED
    ) as service:
        yield service.url, service.ensure_application("benchmark")


def measure(base: str, application: Application, streams: int, messages: int) -> Figures:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    run = f"{streams}s{random.randrange(10**6)}"  # users of their own for every run
    try:
        sender = open_session(connection, application, f"sender-{run}")
        recipients = [
            open_session(connection, application, f"to-{run}-{n}") for n in range(streams)
        ]
        with StreamReader(host, int(port), recipients) as reader:
            chooser = random.Random(streams)
            figures = Figures([], [])
            for sequence in range(WARMUP_MESSAGES + messages):
                recipient = chooser.choice(recipients)["userId"]
                before = time.perf_counter()
                send(connection, sender, recipient, f"m{sequence}")
                answered = time.perf_counter()
                arrived = reader.wait_for(sequence)
                if sequence >= WARMUP_MESSAGES:
                    figures.latency_ms.append(1000 * (arrived - before))
                    figures.answer_ms.append(1000 * (answered - before))
            return figures
    finally:
        connection.close()


def open_session(
    connection: http.client.HTTPConnection, application: Application, user: str
) -> dict[str, Any]:
    ticket = sign_ticket(application.key, application.secret, user)
    body = {"applicationKey": application.key, "userTicket": ticket}
    return call(connection, "POST", "/v1/sessions", body, expect=201)


def send(
    connection: http.client.HTTPConnection, sender: dict[str, Any], to: str, text: str
) -> None:
    call(connection, "POST", "/v1/messages", {"to": [to], "text": text}, sender, expect=201)


def call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any,
    session: dict[str, Any] | None = None,
    *,
    expect: int,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if session is not None:
        headers["Authorization"] = _bearer(session)
    connection.request(method, path, json.dumps(body), headers)
    reply = connection.getresponse()
    answer = json.loads(reply.read() or b"null")
    if reply.status != expect:
        raise SystemExit(f"{method} {path}: {reply.status} {answer}")
    return dict(answer or {})


class StreamReader:
    """Opens a stream for each session and, in a thread, notes when each message (by the number
    in its text) arrives on any of them."""

    def __init__(self, host: str, port: int, sessions: list[dict[str, Any]]) -> None:
        self._selector = selectors.DefaultSelector()
        self._arrivals: dict[int, float] = {}
        self._arrived = threading.Condition()
        self._stop = threading.Event()
        self._buffers: dict[socket.socket, bytes] = {}
        for session in sessions:
            stream = socket.create_connection((host, port), timeout=30)
            request = (
                f"GET /v1/messages/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: {_bearer(session)}\r\n\r\n"
            )
            stream.sendall(request.encode())
            head = b""
            while b"event: ready" not in head:
                chunk = stream.recv(4096)
                if not chunk:
                    raise SystemExit(f"a stream closed at once: {head!r}")
                head += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"a stream was refused: {head!r}")
            stream.setblocking(False)
            self._buffers[stream] = b""
            self._selector.register(stream, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        for stream in self._buffers:
            self._selector.unregister(stream)
            stream.close()
        self._selector.close()

    def wait_for(self, sequence: int) -> float:
        """When message `sequence` arrived (time.perf_counter)."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        with self._arrived:
            while sequence not in self._arrivals:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SystemExit(f"message m{sequence} did not arrive in time")
                self._arrived.wait(remaining)
            return self._arrivals.pop(sequence)

    def _read(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                stream: socket.socket = key.fileobj  # type: ignore[assignment]
                now = time.perf_counter()
                data = self._buffers[stream] + stream.recv(65536)
                found = list(_TEXT.finditer(data))
                # Keep what may be the start of a text cut off between two reads.
                self._buffers[stream] = data[found[-1].end() :] if found else data[-64:]
                if found:
                    with self._arrived:
                        for match in found:
                            self._arrivals[int(match[1])] = now
                        self._arrived.notify_all()


def _bearer(session: dict[str, Any]) -> str:
    return f"Bearer {session['sessionId']}.{session['sessionSecret']}"


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _load() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()
