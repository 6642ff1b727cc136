"""What the messaging routes do, without HTTP (MessagingService). Each call first authenticates the
session the request presents with the `authenticate` callable it was built with (the composition
root hands it auth's check, as `GET /v1/me` makes it: the current secret, the proof of a bound
session, refusals in the audit log), then does its work in a transaction of its own
(conversations.py, mailbox.py). Every method is synchronous: the routes run them in a worker
thread. The open streams of the process are checked together (stream_checks.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from authservice.auth.handed_out import Authenticate, EndedSessions, SessionEnd
from authservice.auth.presented import PresentedSession
from authservice.auth.sessions import SessionView
from authservice.core.audit import AuditEvent, record_event
from authservice.core.clock import utc_now
from authservice.core.errors import AccountDeleted, AuthError, RateLimited, SessionRejected
from authservice.core.keys import derive_key
from authservice.database.engine import SingleStatements
from authservice.database.rate_limits import Bucket, RateLimiter
from authservice.database.tables import UserRow
from authservice.messaging.conversations import (
    Page,
    add_message,
    list_conversations,
    list_messages,
    mark_delivered,
)
from authservice.messaging.deleted_accounts import forget_user
from authservice.messaging.fanout import Fanout, StreamWaiter
from authservice.messaging.mailbox import MailboxEvent, mailbox_head, mailbox_heads, read_mailbox
from authservice.messaging.read_models import ConversationView, MessageView
from authservice.messaging.stream_checks import StreamChecks

__all__ = [
    "STREAM_BATCH",
    "MessagingService",
    "StreamPoll",
    "StreamStart",
]

# The send limit is per minute (Settings.messages_per_minute).
_SEND_WINDOW_S = 60.0
# Mailbox events a stream reads at a time.
STREAM_BATCH = 100
# How many streams of one process may read the database at once: after a wake-up of every stream
# (the LISTEN connection came back) they queue here, not for the threads and connections that
# requests need.
_STREAM_READS = 8
# How many streams the periodic check looks at in one statement (SQLite allows 32,766 parameters).
_CHECKED_AT_ONCE = 1_000


@dataclass(frozen=True)
class StreamStart:
    """A stream that may open: whose, and the event number it starts after."""

    session_id: str
    user_id: int  # the user's row id
    after: int


@dataclass(frozen=True)
class StreamPoll:
    """What a stream finds when it looks: the session's end (None once it has ended, with
    `ended` saying why) and the next events of the mailbox."""

    ends_at: datetime | None
    ended: SessionRejected | None
    events: list[MailboxEvent]


class MessagingService:
    """Built once, by the composition root."""

    def __init__(
        self,
        database: sessionmaker[Session],
        statements: SingleStatements,
        fanout: Fanout,
        server_key: bytes,
        *,
        authenticate: Authenticate,
        session_end: SessionEnd,
        ended_sessions: EndedSessions,
        messages_per_minute: int,
        ping_interval_s: float,
    ) -> None:
        self._db = database
        self._statements = statements
        self.fanout = fanout
        self._authenticate = authenticate
        self._session_end = session_end
        self._ended_sessions = ended_sessions
        self._per_minute = messages_per_minute
        self.ping_interval_s = ping_interval_s
        self.stream_reads = anyio.CapacityLimiter(_STREAM_READS)
        self.stream_checks = StreamChecks(
            fanout.hub, self.stale_streams, interval_s=ping_interval_s, limiter=self.stream_reads
        )
        self._limiter = RateLimiter(
            key=derive_key(server_key, "authservice message limits v1"), window_s=_SEND_WINDOW_S
        )

    def __repr__(self) -> str:
        return f"MessagingService(messages_per_minute={self._per_minute})"

    def send(
        self, presented: PresentedSession, recipients: Sequence[str], text: str
    ) -> MessageView:
        """A send counts against the limit even when it is refused for its recipients, so that
        nobody can try names faster than they could send."""
        refused: AuthError
        with self._caller(presented) as (db, sender, view):
            self._limit(db, sender, view, presented.client_address)
            try:
                return add_message(db, sender, recipients, text, utc_now(), self.fanout)
            except AuthError as error:  # nothing written but the limit's count
                refused = error
        raise refused

    def mark_delivered(self, presented: PresentedSession, message_ids: Sequence[int]) -> None:
        with self._caller(presented) as (db, recipient, _):
            mark_delivered(db, recipient, message_ids, utc_now(), self.fanout)

    def list_conversations(
        self, presented: PresentedSession, before: int | None, limit: int
    ) -> Page[ConversationView]:
        with self._caller(presented) as (db, user, _):
            return list_conversations(db, user, before, limit)

    def list_messages(
        self, presented: PresentedSession, conversation_id: str, before: int | None, limit: int
    ) -> Page[MessageView]:
        with self._caller(presented) as (db, user, _):
            return list_messages(db, user, conversation_id, before, limit)

    def open_stream(self, presented: PresentedSession, after: int | None) -> StreamStart:
        """Where a stream starts: after event `after`, or after the newest event if None (or if
        `after` is beyond it)."""
        with self._caller(presented) as (db, user, view):
            head = mailbox_head(db, user.id)
        start = head if after is None else min(after, head)
        return StreamStart(session_id=view.session_id, user_id=user.id, after=start)

    def poll_stream(self, start: StreamStart, after: int) -> StreamPoll:
        """The session checked by its id (a rotated secret does not end a stream), and the
        mailbox events after `after`, at most STREAM_BATCH."""
        with self._db() as db, db.begin():
            try:
                ends_at = self._session_end(db, start.session_id, utc_now())
            except SessionRejected as ended:
                return StreamPoll(ends_at=None, ended=ended, events=[])
            events = read_mailbox(db, start.user_id, after, STREAM_BATCH)
        return StreamPoll(ends_at=ends_at, ended=None, events=events)

    def stale_streams(self, waiters: Sequence[StreamWaiter]) -> list[StreamWaiter]:
        """Of these open streams, those with something to do: their session has ended, or their
        mailbox has an event after the last one they sent. Two statements per _CHECKED_AT_ONCE
        streams, each alone (on SQLite no write lock is taken)."""
        now = utc_now()
        ended: set[str] = set()
        heads: dict[int, int] = {}
        with self._statements.connect() as connection:
            for start in range(0, len(waiters), _CHECKED_AT_ONCE):
                chunk = waiters[start : start + _CHECKED_AT_ONCE]
                ended |= self._ended_sessions(connection, {w.session_id for w in chunk}, now)
                heads.update(mailbox_heads(connection, {w.user_id for w in chunk}))
        return [
            waiter
            for waiter in waiters
            if waiter.session_id in ended or heads.get(waiter.user_id, 0) > waiter.after
        ]

    def forget_user(self, db: Session, user: UserRow) -> None:
        """The account of `user` is being deleted, in `db`'s transaction: take them out of
        messaging (deleted_accounts.py), and forget their send limit."""
        forget_user(db, user.id)
        self._limiter.forget(db, _subject(user.id))

    @contextmanager
    def _caller(
        self, presented: PresentedSession
    ) -> Iterator[tuple[Session, UserRow, SessionView]]:
        """A transaction, with the user whose session `presented` is, once it is checked (in a
        transaction of its own, which records its use and spends a proof). Their row is locked
        against the account's deletion meanwhile (FOR SHARE); AccountDeleted if it came first."""
        view = self._authenticate(presented)
        with self._db() as db, db.begin():
            user = db.scalars(
                select(UserRow).where(UserRow.id == view.user_row_id).with_for_update(read=True)
            ).first()
            if user is None:
                raise AccountDeleted()
            yield db, user, view

    def _limit(self, db: Session, sender: UserRow, view: SessionView, client_address: str) -> None:
        bucket = Bucket(
            "messages", f"messages|{sender.id}", self._per_minute, subject=_subject(sender.id)
        )
        try:
            self._limiter.acquire(db, [bucket])
        except RateLimited as limited:
            record_event(
                AuditEvent.RATE_LIMITED,
                action="send_message",
                scope=limited.scope,
                retry_after_s=limited.retry_after_s,
                application=view.application_key,
                user=view.user_id,
                address=client_address,
            )
            raise RateLimited(
                limited.retry_after_s,
                scope=limited.scope,
                message=f"Too many messages; try again in {limited.retry_after_s} s.",
            ) from None


def _subject(user_id: int) -> str:
    """Whom a send limit is about (rate_limits.Bucket.subject)."""
    return f"user|{user_id}"
