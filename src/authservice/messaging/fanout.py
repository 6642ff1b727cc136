"""Waking the message streams of a user when their mailbox changes or one of their sessions ends.

The database is the truth: a wake-up only tells a stream to read the user's mailbox after its
cursor, and check its session, again. A wake-up that is lost costs time, not a message: the
streams of each process are also checked together every `Settings.stream_ping_interval_s`
(stream_checks.py).

Whatever changes a mailbox or a session calls `Fanout.notify(db, user_ids)` inside its
transaction; the streams wake once it commits, never before:
- SQLite (`Fanout`): in this process, after the commit. Other processes serving the same SQLite
  file are not told; their streams find the change at their periodic check.
- PostgreSQL (`PostgresFanout`): `NOTIFY` in the transaction itself, which PostgreSQL delivers on
  commit to every process, on every machine, that `LISTEN`s. Each process listens on one
  connection of its own, in a thread, opened when its first stream opens. It reconnects by itself
  (PostgreSQL restarted, the network failed), and then wakes every stream of the process, since
  notifications sent meanwhile are lost.

The streams themselves run on the server's event loop; `StreamHub.wake` may be called from any
thread (a request's thread, the listener's), and hands over with `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "CHANNEL",
    "Fanout",
    "PostgresFanout",
    "StreamHub",
    "StreamWaiter",
    "open_fanout",
    "streams_end_on_exit_signals",
]

logger = logging.getLogger("authservice")

# The PostgreSQL channel; the payload is the user ids, comma-separated.
CHANNEL = "authservice_mailbox"
# Where a session keeps the users to wake once its transaction commits (SQLite).
_PENDING = "authservice_wake_user_ids"
# How often the listener looks up from waiting, to notice that it should stop.
_LISTEN_POLL_S = 0.5
_EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The listener's wait before connecting again: doubling from the first to the last.
_RECONNECT_FIRST_S, _RECONNECT_LAST_S = 0.1, 5.0


class StreamWaiter:
    """One stream's doorbell, and what the periodic check needs to know of its stream: whose it
    is, its session, and the last event it has sent (`after`, which the stream moves on)."""

    def __init__(self, user_id: int, session_id: str, after: int) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.after = after
        self._rung = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"StreamWaiter(user_id={self.user_id}, after={self.after}, rung={self._rung.is_set()})"
        )

    async def wait(self, timeout_s: float) -> bool:
        """True once rung (then it is reset), False after `timeout_s` without a ring."""
        try:
            await asyncio.wait_for(self._rung.wait(), max(0.0, timeout_s))
        except TimeoutError:
            return False
        self._rung.clear()
        return True

    def ring(self) -> None:
        self._rung.set()


class StreamHub:
    """The open streams of this process, by user id. Streams subscribe and unsubscribe on the event
    loop; `wake`, `wake_all` and `close` may be called from any thread (and from a signal handler)."""

    def __init__(self) -> None:
        self._waiters: dict[int, set[StreamWaiter]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def __repr__(self) -> str:
        streams = sum(len(waiters) for waiters in self._waiters.values())
        return f"StreamHub(streams={streams}, closed={self.closed})"

    def subscribe(self, user_id: int, session_id: str, after: int) -> StreamWaiter:
        self._loop = asyncio.get_running_loop()
        waiter = StreamWaiter(user_id, session_id, after)
        self._waiters.setdefault(user_id, set()).add(waiter)
        return waiter

    def waiters(self) -> list[StreamWaiter]:
        """Every open stream's waiter (on the event loop)."""
        return [waiter for waiters in self._waiters.values() for waiter in waiters]

    def unsubscribe(self, waiter: StreamWaiter) -> None:
        waiters = self._waiters.get(waiter.user_id, set())
        waiters.discard(waiter)
        if not waiters:
            self._waiters.pop(waiter.user_id, None)

    def wake(self, user_ids: Iterable[int]) -> None:
        self._call_soon(self._ring, frozenset(user_ids))

    def wake_all(self) -> None:
        self._call_soon(self._ring, None)

    def close(self) -> None:
        """Every stream ends at its next wake-up, which this is; new ones end at once: the server
        is stopping, and their clients reconnect to another one."""
        self.closed = True
        self.wake_all()

    def _call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return  # no stream has ever opened here
        with suppress(RuntimeError):  # the loop has closed: no stream is left to wake
            loop.call_soon_threadsafe(callback, *args)

    def _ring(self, user_ids: frozenset[int] | None) -> None:
        chosen = self._waiters.keys() if user_ids is None else user_ids & self._waiters.keys()
        for user_id in list(chosen):
            for waiter in self._waiters.get(user_id, ()):
                waiter.ring()


class Fanout:
    """Wake-ups within one process, after the commit (SQLite)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.hub = StreamHub()
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_rollback", self._after_rollback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hub!r})"

    def notify(self, db: Session, user_ids: Iterable[int]) -> None:
        """Wake the streams of these users once `db`'s transaction commits (not if it rolls back)."""
        db.info.setdefault(_PENDING, set()).update(user_ids)

    def subscribe(self, user_id: int, session_id: str, after: int) -> StreamWaiter:
        return self.hub.subscribe(user_id, session_id, after)

    def unsubscribe(self, waiter: StreamWaiter) -> None:
        self.hub.unsubscribe(waiter)

    def close(self) -> None:
        self.hub.close()

    def _after_commit(self, db: Session) -> None:
        user_ids = db.info.pop(_PENDING, None)
        if user_ids:
            self.hub.wake(user_ids)

    def _after_rollback(self, db: Session) -> None:
        db.info.pop(_PENDING, None)


class PostgresFanout(Fanout):
    """`NOTIFY` in the transaction; a `LISTEN` connection per process (see the module)."""

    def __init__(self, sessions: sessionmaker[Session], connect: Callable[[], Any]) -> None:
        super().__init__(sessions)
        self._connect = connect  # a new psycopg connection, in autocommit mode
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        self._starting = threading.Lock()

    def notify(self, db: Session, user_ids: Iterable[int]) -> None:
        payload = ",".join(str(user_id) for user_id in sorted(set(user_ids)))
        if payload:
            db.execute(select(func.pg_notify(CHANNEL, payload)))

    def subscribe(self, user_id: int, session_id: str, after: int) -> StreamWaiter:
        waiter = super().subscribe(user_id, session_id, after)
        with self._starting:
            if self._listener is None and not self._stopping.is_set():
                self._listener = threading.Thread(
                    target=self._listen, name="authservice-listen", daemon=True
                )
                self._listener.start()
        return waiter

    def close(self) -> None:
        super().close()
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(2 * _LISTEN_POLL_S + 1)

    def _listen(self) -> None:
        delay_s = _RECONNECT_FIRST_S
        while not self._stopping.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    # Whatever was sent while this process was not listening: read it now.
                    self.hub.wake_all()
                    delay_s = _RECONNECT_FIRST_S
                    while not self._stopping.is_set():
                        for notification in connection.notifies(timeout=_LISTEN_POLL_S):
                            self.hub.wake(_user_ids(notification.payload))
            except Exception as error:  # the driver's errors, whatever the failure
                if self._stopping.is_set():
                    return
                logger.warning(
                    "Message streams: listening to PostgreSQL failed (again in %.1f s): %s",
                    delay_s,
                    error,
                )
                self._stopping.wait(delay_s)
                delay_s = min(2 * delay_s, _RECONNECT_LAST_S)


def open_fanout(
    engine: Engine, sessions: sessionmaker[Session], connect: Callable[[], Any]
) -> Fanout:
    """The fan-out for the engine's database; `connect` opens a connection of the driver's own
    (used on PostgreSQL only)."""
    if engine.dialect.name == "postgresql":
        return PostgresFanout(sessions, connect)
    return Fanout(sessions)


@contextmanager
def streams_end_on_exit_signals(hub: StreamHub) -> Iterator[None]:
    """While the server runs, SIGINT and SIGTERM also end every stream of `hub`, then go on to
    the handler there was (the server's, which stops it). A server stops once every response has
    finished, and a stream never finishes by itself: without this, it would wait for the clients
    to leave. They reconnect, to another process, after their last event.

    Only in the main thread, where signals are handled (a server run in a thread has none)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in _EXIT_SIGNALS}

    def end_streams(signum: int, frame: FrameType | None) -> None:
        hub.close()
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for signum in _EXIT_SIGNALS:
        signal.signal(signum, end_streams)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if signal.getsignal(number) is end_streams:
                signal.signal(number, handler)


def _user_ids(payload: str) -> list[int]:
    return [int(part) for part in payload.split(",") if part.isdigit()]
