"""Conversations: sending a message, delivery receipts, and the conversations and their history.
Each function runs in the caller's transaction (use_cases.py opens them).

A conversation is a set of users: the sender and the recipients of a message. The same set is
always the same conversation, found by the hash of its sorted user ids (`participants_key`). A
message is one row, with a delivery row per recipient and a `message` event in the mailbox of
every participant (mailbox.py); a delivery receipt adds a `delivered` event to the sender's.

Locks, on PostgreSQL (SQLite runs one writer at a time): adding a message locks its recipients'
user rows against deletion (FOR SHARE, in id order; the sender's is locked so by the caller), then
its conversation's row before it inserts the message, so that the messages of one conversation
commit in the order of their ids; then the participants' mailboxes, in user id order. A receipt
locks its delivery rows, in message id order, then its senders' user rows (FOR SHARE), then their
mailboxes. Deleting an account (deleted_accounts.py) locks its user row first, then its
conversations. No two transactions can wait on each other in a circle, and nothing is added for a
user whose deletion has committed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from authservice.auth.rules import username_key
from authservice.core.errors import InvalidRequest, NoSuchConversation, UnknownRecipients
from authservice.database.engine import upsert
from authservice.database.tables import (
    ConversationRow,
    DeliveryRow,
    MessageRow,
    ParticipantRow,
    UserRow,
)
from authservice.messaging.fanout import Fanout
from authservice.messaging.mailbox import NewEvent, post_events
from authservice.messaging.read_models import ConversationView, MessageView, describe_messages
from authservice.messaging.rules import CONVERSATION_ID_PATTERN

__all__ = ["Page", "add_message", "list_conversations", "list_messages", "mark_delivered"]

T = TypeVar("T")
_CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)
_CONVERSATIONS = ConversationRow.__table__


@dataclass(frozen=True)
class Page(Generic[T]):
    """The newest first; `more` when older ones follow (ask again with `before`)."""

    items: list[T]
    more: bool


def add_message(
    db: Session, sender: UserRow, names: Sequence[str], text: str, now: datetime, fanout: Fanout
) -> MessageView:
    """Add `text` from `sender` to their conversation with the users of their application who
    have these names (any case or width); UnknownRecipients naming those none has. Checks first,
    writes after."""
    recipients = _find_recipients(db, sender, names)
    participants = sorted([sender, *recipients], key=lambda user: user.id)
    conversation_id, new = _lock_conversation(db, participants, now)
    message = MessageRow(
        conversation_id=conversation_id, sender_id=sender.id, text=text, sent_at=now
    )
    db.add(message)
    db.flush()
    if new:
        db.add_all(
            ParticipantRow(
                conversation_id=conversation_id, user_id=user.id, last_message_id=message.id
            )
            for user in participants
        )
    else:
        db.execute(
            update(ParticipantRow)
            .where(ParticipantRow.conversation_id == conversation_id)
            .values(last_message_id=message.id)
        )
    db.add_all(DeliveryRow(message_id=message.id, recipient_id=user.id) for user in recipients)
    post_events(db, [NewEvent(user.id, "message", message.id) for user in participants])
    fanout.notify(db, [user.id for user in participants])
    return MessageView(
        message_id=message.id,
        conversation_id=conversation_id,
        sender=sender.username,
        recipients=tuple(sorted(user.username for user in recipients)),
        text=text,
        sent_at=now,
        delivered_to={},
    )


def mark_delivered(
    db: Session, recipient: UserRow, message_ids: Sequence[int], now: datetime, fanout: Fanout
) -> None:
    """Record that `recipient` has received these messages, and tell their senders. Ids of
    messages not addressed to them, or received already, are left alone."""
    pending = db.execute(
        select(DeliveryRow.message_id, MessageRow.sender_id)
        .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
        .where(
            DeliveryRow.recipient_id == recipient.id,
            DeliveryRow.message_id.in_(set(message_ids)),
            DeliveryRow.delivered_at.is_(None),
        )
        .order_by(DeliveryRow.message_id)
        .with_for_update(of=DeliveryRow)
    ).all()
    if not pending:
        return
    # A sender whose account is deleted (now, or before: None) is told nothing.
    senders = db.scalars(
        select(UserRow.id)
        .where(UserRow.id.in_({sender_id for _, sender_id in pending if sender_id is not None}))
        .order_by(UserRow.id)
        .with_for_update(read=True)
    ).all()
    db.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.recipient_id == recipient.id,
            DeliveryRow.message_id.in_([message_id for message_id, _ in pending]),
        )
        .values(delivered_at=now)
    )
    told = set(senders)
    post_events(
        db,
        [
            NewEvent(sender_id, "delivered", message_id, recipient.id)
            for message_id, sender_id in pending
            if sender_id in told
        ],
    )
    fanout.notify(db, told)


def list_conversations(
    db: Session, user: UserRow, before: int | None, limit: int
) -> Page[ConversationView]:
    """The user's conversations by their last message, newest first; `before` is a message id."""
    query = select(ParticipantRow.last_message_id).where(ParticipantRow.user_id == user.id)
    if before is not None:
        query = query.where(ParticipantRow.last_message_id < before)
    last_ids = db.scalars(
        query.order_by(ParticipantRow.last_message_id.desc()).limit(limit + 1)
    ).all()
    shown = last_ids[:limit]
    rows = db.scalars(select(MessageRow).where(MessageRow.id.in_(shown))).all()
    described = describe_messages(db, rows)
    conversations = []
    for message_id in shown:
        message = described.messages[message_id]
        conversations.append(
            ConversationView(
                conversation_id=message.conversation_id,
                participants=described.participants[message.conversation_id],
                deleted_accounts=described.deleted_accounts[message.conversation_id],
                last_message=message,
            )
        )
    return Page(conversations, more=len(last_ids) > limit)


def list_messages(
    db: Session, user: UserRow, conversation_id: str, before: int | None, limit: int
) -> Page[MessageView]:
    """A conversation's messages, newest first; NoSuchConversation unless the user is in it."""
    if not _CONVERSATION_ID.fullmatch(conversation_id):
        raise NoSuchConversation()
    member = db.scalar(
        select(ParticipantRow.user_id).where(
            ParticipantRow.conversation_id == conversation_id, ParticipantRow.user_id == user.id
        )
    )
    if member is None:
        raise NoSuchConversation()
    query = select(MessageRow).where(MessageRow.conversation_id == conversation_id)
    if before is not None:
        query = query.where(MessageRow.id < before)
    rows = db.scalars(query.order_by(MessageRow.id.desc()).limit(limit + 1)).all()
    shown = rows[:limit]
    described = describe_messages(db, shown)
    return Page([described.messages[row.id] for row in shown], more=len(rows) > limit)


def _find_recipients(db: Session, sender: UserRow, names: Sequence[str]) -> list[UserRow]:
    """The users named, each once, the sender left out; InvalidRequest if nobody is left."""
    wanted: dict[str, str] = {}  # by username key: the name as first typed
    for name in names:
        wanted.setdefault(username_key(name), name)
    wanted.pop(sender.username_key, None)
    if not wanted:
        raise InvalidRequest("Name at least one recipient other than yourself.")
    found = db.scalars(
        select(UserRow)
        .where(
            UserRow.application_id == sender.application_id,
            UserRow.username_key.in_(list(wanted)),
        )
        .order_by(UserRow.id)
        .with_for_update(read=True)
    ).all()
    known = {user.username_key for user in found}
    unknown = [name for key, name in wanted.items() if key not in known]
    if unknown:
        raise UnknownRecipients(unknown)
    return list(found)


def _lock_conversation(
    db: Session, participants: Sequence[UserRow], now: datetime
) -> tuple[str, bool]:
    """The id of these users' conversation (made if new), its row locked; whether it is new."""
    key = hashlib.sha256(",".join(str(user.id) for user in participants).encode()).hexdigest()
    proposed = "cnv_" + secrets.token_urlsafe(16)
    db.execute(
        upsert(db, _CONVERSATIONS)
        .values(id=proposed, participants_key=key, created_at=now)
        .on_conflict_do_nothing(index_elements=[_CONVERSATIONS.c.participants_key])
    )
    conversation_id = db.scalars(
        select(ConversationRow.id).where(ConversationRow.participants_key == key).with_for_update()
    ).one()
    return conversation_id, conversation_id == proposed
