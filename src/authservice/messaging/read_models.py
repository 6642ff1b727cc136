"""Read models: messages, deliveries and conversations as the API shows them, read from their rows
in a few queries per page (not a few per message)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from authservice.database.tables import (
    ConversationRow,
    DeliveryRow,
    MessageRow,
    ParticipantRow,
    UserRow,
)

__all__ = ["ConversationView", "DeliveryView", "Described", "MessageView", "describe_messages"]


@dataclass(frozen=True)
class MessageView:
    message_id: int
    conversation_id: str
    sender: str | None  # None: an account since deleted
    recipients: tuple[str, ...]  # everyone in the conversation but the sender, sorted
    text: str = field(repr=False)
    sent_at: datetime
    delivered_to: Mapping[str, datetime]  # the recipients who have received it, so far


@dataclass(frozen=True)
class DeliveryView:
    message_id: int
    conversation_id: str
    recipient: str
    delivered_at: datetime


@dataclass(frozen=True)
class ConversationView:
    conversation_id: str
    participants: tuple[str, ...]  # sorted; those whose account still exists
    deleted_accounts: int  # how many others it had, who have deleted their account
    last_message: MessageView


@dataclass(frozen=True)
class Described:
    """Messages by id, and the usernames of everyone in their conversations, by user id."""

    messages: dict[int, MessageView]
    usernames: dict[int, str]
    participants: dict[str, tuple[str, ...]]  # by conversation id, sorted
    deleted_accounts: dict[str, int]  # by conversation id


def describe_messages(db: Session, rows: Sequence[MessageRow]) -> Described:
    """The messages of `rows` as the API shows them: two queries, whatever their number."""
    members = db.execute(
        select(
            ParticipantRow.conversation_id,
            UserRow.id,
            UserRow.username,
            ConversationRow.deleted_accounts,
        )
        .join(UserRow, UserRow.id == ParticipantRow.user_id)
        .join(ConversationRow, ConversationRow.id == ParticipantRow.conversation_id)
        .where(ParticipantRow.conversation_id.in_({row.conversation_id for row in rows}))
    ).all()
    usernames = {user_id: username for _, user_id, username, _ in members}
    deleted_accounts = {conversation_id: deleted for conversation_id, _, _, deleted in members}
    in_conversation: dict[str, list[str]] = {}
    for conversation_id, _, username, _ in members:
        in_conversation.setdefault(conversation_id, []).append(username)
    participants = {key: tuple(sorted(names)) for key, names in in_conversation.items()}
    delivered: dict[int, dict[str, datetime]] = {}
    for message_id, recipient_id, delivered_at in db.execute(
        select(DeliveryRow.message_id, DeliveryRow.recipient_id, DeliveryRow.delivered_at).where(
            DeliveryRow.message_id.in_({row.id for row in rows}),
            DeliveryRow.delivered_at.is_not(None),
        )
    ):
        if delivered_at is not None:
            delivered.setdefault(message_id, {})[usernames[recipient_id]] = delivered_at
    messages = {}
    for row in rows:
        sender = None if row.sender_id is None else usernames[row.sender_id]
        messages[row.id] = MessageView(
            message_id=row.id,
            conversation_id=row.conversation_id,
            sender=sender,
            recipients=tuple(name for name in participants[row.conversation_id] if name != sender),
            text=row.text,
            sent_at=row.sent_at,
            delivered_to=delivered.get(row.id, {}),
        )
    return Described(
        messages=messages,
        usernames=usernames,
        participants=participants,
        deleted_accounts=deleted_accounts,
    )
