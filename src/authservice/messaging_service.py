"""What the messaging routes do, without HTTP: each call authenticates the session as `GET /v1/me`
does (AuthService.describe: the current secret, the proof of a bound session, refusals in the
audit log), then does its work in a transaction of its own (messaging.py, mailbox.py). Every
method is synchronous: the routes run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from authservice._time import utc_now
from authservice.audit import AuditEvent, record_event
from authservice.errors import AuthError, RateLimited, SessionRejected
from authservice.keys import derive_key
from authservice.mailbox import MailboxEvent, mailbox_head, read_mailbox
from authservice.message_views import ConversationView, MessageView
from authservice.messaging import (
    Page,
    list_conversations,
    list_messages,
    mark_delivered,
    send_message,
)
from authservice.models import ApplicationRow, UserRow
from authservice.proofs import NO_PROOF, ProofRequest
from authservice.ratelimit import Bucket, RateLimiter
from authservice.sessions import SessionView, session_end

if TYPE_CHECKING:
    from authservice.service import AuthService

__all__ = ["MessagingService", "StreamPoll", "StreamStart"]

# The send limit is per minute (Settings.messages_per_minute).
_SEND_WINDOW_S = 60.0
# Mailbox events a stream reads at a time.
STREAM_BATCH = 100


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
    def __init__(self, auth: AuthService, server_key: bytes) -> None:
        self._auth = auth
        self._db = auth.database
        self.fanout = auth.fanout
        self._per_minute = auth.settings.messages_per_minute
        self.ping_interval_s = auth.settings.stream_ping_interval_s
        self._limiter = RateLimiter(
            key=derive_key(server_key, "authservice message limits v1"), window_s=_SEND_WINDOW_S
        )

    def __repr__(self) -> str:
        return f"MessagingService(messages_per_minute={self._per_minute})"

    def send_message(
        self,
        session_id: str,
        session_secret: str,
        client_address: str,
        recipients: Sequence[str],
        text: str,
        *,
        proof: ProofRequest = NO_PROOF,
    ) -> MessageView:
        """A send counts against the limit even when it is refused for its recipients, so that
        nobody can try names faster than they could send."""
        view = self._auth.describe(session_id, session_secret, client_address, proof=proof)
        refused: AuthError
        with self._db() as db:
            with db.begin():
                sender = _caller(db, view)
                self._limit(db, sender, view, client_address)
                try:
                    return send_message(db, sender, recipients, text, utc_now(), self.fanout)
                except AuthError as error:  # nothing written but the limit's count
                    refused = error
            raise refused

    def mark_delivered(
        self,
        session_id: str,
        session_secret: str,
        client_address: str,
        message_ids: Sequence[int],
        *,
        proof: ProofRequest = NO_PROOF,
    ) -> None:
        view = self._auth.describe(session_id, session_secret, client_address, proof=proof)
        with self._db() as db, db.begin():
            mark_delivered(db, _caller(db, view), message_ids, utc_now(), self.fanout)

    def list_conversations(
        self,
        session_id: str,
        session_secret: str,
        client_address: str,
        before: int | None,
        limit: int,
        *,
        proof: ProofRequest = NO_PROOF,
    ) -> Page[ConversationView]:
        view = self._auth.describe(session_id, session_secret, client_address, proof=proof)
        with self._db() as db, db.begin():
            return list_conversations(db, _caller(db, view), before, limit)

    def list_messages(
        self,
        session_id: str,
        session_secret: str,
        client_address: str,
        conversation_id: str,
        before: int | None,
        limit: int,
        *,
        proof: ProofRequest = NO_PROOF,
    ) -> Page[MessageView]:
        view = self._auth.describe(session_id, session_secret, client_address, proof=proof)
        with self._db() as db, db.begin():
            return list_messages(db, _caller(db, view), conversation_id, before, limit)

    def open_stream(
        self,
        session_id: str,
        session_secret: str,
        client_address: str,
        after: int | None,
        *,
        proof: ProofRequest = NO_PROOF,
    ) -> StreamStart:
        """Where a stream starts: after event `after`, or after the newest event if None (or if
        `after` is beyond it)."""
        view = self._auth.describe(session_id, session_secret, client_address, proof=proof)
        with self._db() as db, db.begin():
            user = _caller(db, view)
            head = mailbox_head(db, user.id)
        start = head if after is None else min(after, head)
        return StreamStart(session_id=view.session_id, user_id=user.id, after=start)

    def poll_stream(self, start: StreamStart, after: int) -> StreamPoll:
        """The session checked by its id (a rotated secret does not end a stream), and the
        mailbox events after `after`, at most STREAM_BATCH."""
        with self._db() as db, db.begin():
            try:
                ends_at = session_end(db, start.session_id, utc_now())
            except SessionRejected as ended:
                return StreamPoll(ends_at=None, ended=ended, events=[])
            events = read_mailbox(db, start.user_id, after, STREAM_BATCH)
        return StreamPoll(ends_at=ends_at, ended=None, events=events)

    def _limit(self, db: Session, sender: UserRow, view: SessionView, client_address: str) -> None:
        bucket = Bucket("messages", f"messages|{sender.id}", self._per_minute)
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


def _caller(db: Session, view: SessionView) -> UserRow:
    """The user whose session `view` is."""
    return db.scalars(
        select(UserRow)
        .join(ApplicationRow, ApplicationRow.id == UserRow.application_id)
        .where(ApplicationRow.key == view.application_key, UserRow.username == view.user_id)
    ).one()
