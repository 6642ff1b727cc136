"""Message delivery latency with many streams open: from the send to its arrival on the recipient's
stream, p50 and p99, and what each open stream costs the service in memory.

    .venv/bin/python benchmarks/messaging.py [--messages 200] [--streams 1 200 1000 10000]
        [--databases sqlite postgresql]

Two services, one after the other, on loopback, without an access log:
- `python -m authservice serve` on SQLite with 1 worker (the in-process fan-out),
- the same on PostgreSQL with 4 workers (NOTIFY/LISTEN), a throw-away cluster with its durable
  settings (harness.postgres), reached over a Unix socket.
For each, with each count of streams open (one user per stream, all signed in first by ticket), one
sender sends `--messages` messages, one at a time over one kept-alive connection, each to one of
the streamed users picked at random, and waits for it to arrive. The latency of a message runs
from just before its `POST /v1/messages` to its event on the recipient's stream, as read from the
socket; the send's own answer time is printed beside it. The streams are plain sockets, read by
one thread with a selector; the kernel spreads them over the workers, so most messages cross from
one worker to another. Memory per stream is the growth of the resident memory of the service's
processes (all workers) from before the streams open to once they all have, divided by their
number. A message that never arrives, or a stream that closes, is counted (`lost`, `closed`); a
stream refused with 503 while the others open (the database busy) is asked for again 5 s later, as
a browser's EventSource does, and counted (`refused at first`).

Each side of a stream is an open file: this script raises its own soft limit of open files to the
hard one (the services it starts inherit it, and `authservice serve` raises its own the same
way); 10,000 streams need a hard limit above 10,000 (docs/deploy.md). Everything shares the
machine's cores. It prints figures and asserts nothing; with 10,000 streams it takes several
minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import selectors
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from authservice import Application
from authservice.admin.serving import raise_open_file_limit
from harness.api_client import ApiConnection, bearer
from harness.cpu import tree_rss_kib
from harness.postgres import PostgresCluster
from harness.processes import AuthServiceProcess

# No limit in the way: every sign-in is a ticket from 127.0.0.1, and one user sends them all.
UNLIMITED: dict[str, Any] = {
    "login_attempts_per_ip": 1_000_000,
    "messages_per_minute": 1_000_000,
}
WARMUP_MESSAGES = 20
ARRIVAL_TIMEOUT_S = 10.0
# Streams opened at once: all their requests sent, then every answer awaited.
OPEN_BATCH = 500
# A stream refused with 503 (the database busy) is asked for again after this long, as a browser's
# EventSource does, up to OPEN_ATTEMPTS times in all.
REOPEN_AFTER_S = 5.0
OPEN_ATTEMPTS = 5
_TEXT = re.compile(rb'"text":"m(\d+)"')


@dataclass
class Figures:
    latency_ms: list[float]  # send to arrival
    answer_ms: list[float]  # send to the send's own answer
    memory_per_stream_kib: float = 0.0
    open_s: float = 0.0  # opening every stream
    lost: int = 0  # messages that did not arrive within ARRIVAL_TIMEOUT_S
    closed: int = 0  # streams that ended before the run did
    refused: int = 0  # streams refused with 503 while opening, then asked for again

    def __str__(self) -> str:
        return (
            f"delivery p50 {_percentile(self.latency_ms, 50):6.1f} "
            f"p99 {_percentile(self.latency_ms, 99):6.1f} ms   "
            f"send answered p50 {_percentile(self.answer_ms, 50):6.1f} "
            f"p99 {_percentile(self.answer_ms, 99):6.1f} ms   (n={len(self.latency_ms)})   "
            f"{self.memory_per_stream_kib:5.1f} KiB/stream   opened in {self.open_s:4.0f} s   "
            f"lost {self.lost}   closed {self.closed}   refused at first {self.refused}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200, help="per run (default: 200)")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 200, 1_000, 10_000])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    args = parser.parse_args()

    raise_open_file_limit()  # each stream is a socket here too
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    print(
        f"{os.cpu_count()} cores; load average at start {_load()}; open files {open_files}",
        flush=True,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as work, PostgresCluster.create(durable=True) as cluster:
        runs = {
            "sqlite": ("SQLite, 1 worker", None, 1),
            "postgresql": ("PostgreSQL, 4 workers", cluster, 4),
        }
        for number, (name, database, workers) in enumerate(runs[db] for db in args.databases):
            url = database.create_database() if database else None
            with auth_service(Path(work) / f"data-{number}", url, workers) as (base, service):
                print(f"{name}: {base}", flush=True)
                sender, recipients = sign_in_users(base, service, max(args.streams), workers)
                for streams in args.streams:
                    figures = measure(base, service, sender, recipients[:streams], args.messages)
                    print(f"  {streams:>6} streams: {figures}", flush=True)
    print(f"load average at end {_load()}; {time.monotonic() - started:.0f} s in all")


@dataclass(frozen=True)
class Service:
    application: Application
    pid: int


@contextmanager
def auth_service(
    data_dir: Path, database_url: str | None, workers: int
) -> Iterator[tuple[str, Service]]:
    with AuthServiceProcess(
        data_dir, database_url=database_url, workers=workers, no_access_log=True, **UNLIMITED
    ) as process:
        if process.pid is None:
            raise SystemExit("the service is not running")
        try:
            yield process.url, Service(process.ensure_application("benchmark"), process.pid)
        except SystemExit:
            print(f"the service's log, last lines:\n{process.output[-3000:]}", flush=True)
            raise


def sign_in_users(
    base: str, service: Service, count: int, connections: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A sender and `count` recipients, each a user of their own, signed in by ticket over
    `connections` side by side (one per worker: more would only queue, and on SQLite wait for its
    one writer until its lock times out on a busy machine)."""
    run = random.randrange(10**6)

    def sign_in(names: list[str]) -> list[dict[str, Any]]:
        api = ApiConnection(base)
        try:
            return [api.open_session(service.application, name) for name in names]
        finally:
            api.close()

    started = time.monotonic()
    names = [f"to-{run}-{n}" for n in range(count)]
    chunks = [names[n::connections] for n in range(connections)]
    with ThreadPoolExecutor(connections) as pool:
        recipients = [session for chunk in pool.map(sign_in, chunks) for session in chunk]
    print(f"  {count + 1} users signed in in {time.monotonic() - started:.0f} s", flush=True)
    return sign_in([f"sender-{run}"])[0], recipients


def measure(
    base: str,
    service: Service,
    sender: dict[str, Any],
    recipients: list[dict[str, Any]],
    messages: int,
) -> Figures:
    api = ApiConnection(base)
    figures = Figures([], [])
    try:
        memory_before_kib = tree_rss_kib(service.pid)
        started = time.monotonic()
        with StreamReader(api.host, api.port, recipients) as reader:
            figures.open_s = time.monotonic() - started
            time.sleep(1.0)  # the last streams' first reads done
            figures.memory_per_stream_kib = (tree_rss_kib(service.pid) - memory_before_kib) / len(
                recipients
            )
            chooser = random.Random(len(recipients))
            for sequence in range(WARMUP_MESSAGES + messages):
                recipient = chooser.choice(recipients)["userId"]
                before = time.perf_counter()
                send(api, sender, recipient, f"m{sequence}")
                answered = time.perf_counter()
                arrived = reader.wait_for(sequence)
                if arrived is None:
                    figures.lost += 1
                elif sequence >= WARMUP_MESSAGES:
                    figures.latency_ms.append(1000 * (arrived - before))
                    figures.answer_ms.append(1000 * (answered - before))
            figures.closed, figures.refused = reader.closed, reader.refused
        return figures
    finally:
        api.close()


def send(api: ApiConnection, sender: dict[str, Any], to: str, text: str) -> None:
    body = {"to": [to], "text": text}
    try:
        api.call("POST", "/v1/messages", body, sender, expect=201)
    except (BrokenPipeError, ConnectionResetError):
        # The server closed the kept-alive connection while a late message was awaited (uvicorn
        # keeps an idle one 5 s): the request never reached it, so send it on a new one.
        api.close()
        api.call("POST", "/v1/messages", body, sender, expect=201)


class StreamReader:
    """Opens a stream for each session, `OPEN_BATCH` at a time, and, in a thread, notes when each
    message (by the number in its text) arrives on any of them, and how many of them closed."""

    def __init__(self, host: str, port: int, sessions: list[dict[str, Any]]) -> None:
        self._selector = selectors.DefaultSelector()
        self._arrivals: dict[int, float] = {}
        self._arrived = threading.Condition()
        self._stop = threading.Event()
        self._buffers: dict[socket.socket, bytes] = {}
        self.closed = 0
        self.refused = 0
        try:
            pending = sessions
            for _attempt in range(OPEN_ATTEMPTS):
                refused = []
                for first in range(0, len(pending), OPEN_BATCH):
                    refused += self._open(host, port, pending[first : first + OPEN_BATCH])
                if not refused:
                    break
                self.refused += len(refused)
                time.sleep(REOPEN_AFTER_S)
                pending = refused
            else:
                raise SystemExit(f"{len(pending)} streams refused {OPEN_ATTEMPTS} times")
        except BaseException:
            self._close_all()
            raise
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _open(self, host: str, port: int, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Streams for these sessions: every request sent, then every head read up to `ready`.
        The sessions whose stream was refused with 503."""
        heads: dict[socket.socket, bytes] = {}
        session_of: dict[socket.socket, dict[str, Any]] = {}
        refused: list[dict[str, Any]] = []
        waiting = selectors.DefaultSelector()
        try:
            for session in sessions:
                stream = socket.create_connection((host, port), timeout=30)
                self._buffers[stream] = b""
                request = (
                    f"GET /v1/messages/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: {bearer(session)}\r\n\r\n"
                )
                stream.sendall(request.encode())
                stream.setblocking(False)
                heads[stream] = b""
                session_of[stream] = session
                waiting.register(stream, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while heads:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{len(heads)} streams did not open within 60 s")
                for key, _ in waiting.select(timeout=1.0):
                    opening: socket.socket = key.fileobj  # type: ignore[assignment]
                    chunk = opening.recv(4096)
                    head = heads[opening] + chunk
                    if head.startswith(b"HTTP/1.1 503") and b"\r\n\r\n" in head:
                        refused.append(session_of[opening])
                        del heads[opening], self._buffers[opening]
                        waiting.unregister(opening)
                        opening.close()
                        continue
                    if not chunk:
                        raise SystemExit(f"a stream closed at once: {head!r}")
                    if b"event: ready" not in head:
                        heads[opening] = head
                        continue
                    if not head.startswith(b"HTTP/1.1 200"):
                        raise SystemExit(f"a stream was refused: {head!r}")
                    del heads[opening]
                    waiting.unregister(opening)
                    self._selector.register(opening, selectors.EVENT_READ)
        finally:
            waiting.close()
        return refused

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._close_all()

    def _close_all(self) -> None:
        for stream in self._buffers:
            stream.close()
        self._selector.close()

    def wait_for(self, sequence: int) -> float | None:
        """When message `sequence` arrived (time.perf_counter), or None if it did not within
        ARRIVAL_TIMEOUT_S."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        with self._arrived:
            while sequence not in self._arrivals:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    print(f"  message m{sequence} did not arrive in time", flush=True)
                    return None
                self._arrived.wait(remaining)
            return self._arrivals.pop(sequence)

    def _read(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                stream: socket.socket = key.fileobj  # type: ignore[assignment]
                now = time.perf_counter()
                chunk = stream.recv(65536)
                if not chunk:
                    self.closed += 1
                    self._selector.unregister(stream)
                    continue
                data = self._buffers[stream] + chunk
                found = list(_TEXT.finditer(data))
                # Keep what may be the start of a text cut off between two reads.
                self._buffers[stream] = data[found[-1].end() :] if found else data[-64:]
                if found:
                    with self._arrived:
                        for match in found:
                            self._arrivals[int(match[1])] = now
                        self._arrived.notify_all()


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _load() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()
