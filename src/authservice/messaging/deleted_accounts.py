"""What deleting an account does to messaging: nothing left that names the user, and what the
others were told kept for them.

`forget_user` runs in the transaction that deletes the account (auth/sessions.py, through the
composition root), which has locked the user's row first:
- the user's mailbox goes (its counter and its events), and so do the `delivered` events that
  told others the user had received their messages, and the user's delivery rows;
- the messages the user sent stay, from no one (`sender_id` NULL: the API says `"from": null`);
- the user leaves each of their conversations, which count one more deleted account and get a
  participants key of their own that no set of users will ever have again: the others keep the
  conversation as it was, and a new account of the same name (or, on SQLite, of the same reused
  row id) starts a conversation of its own, seeing nothing of the old one;
- a conversation that no one is left in goes, with its messages.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from authservice.database.tables import (
    ConversationRow,
    DeliveryRow,
    MailboxEventRow,
    MailboxRow,
    MessageRow,
    ParticipantRow,
)

__all__ = ["forget_user"]


def forget_user(db: Session, user_id: int) -> None:
    """Take user `user_id` out of messaging (see the module), in the caller's transaction."""
    conversation_ids = db.scalars(
        select(ConversationRow.id)
        .join(ParticipantRow, ParticipantRow.conversation_id == ConversationRow.id)
        .where(ParticipantRow.user_id == user_id)
        .order_by(ConversationRow.id)
        .with_for_update(of=ConversationRow)
    ).all()
    db.execute(
        delete(MailboxEventRow).where(
            or_(MailboxEventRow.user_id == user_id, MailboxEventRow.recipient_id == user_id)
        )
    )
    db.execute(delete(MailboxRow).where(MailboxRow.user_id == user_id))
    db.execute(delete(DeliveryRow).where(DeliveryRow.recipient_id == user_id))
    db.execute(update(MessageRow).where(MessageRow.sender_id == user_id).values(sender_id=None))
    db.execute(delete(ParticipantRow).where(ParticipantRow.user_id == user_id))
    for conversation_id in conversation_ids:
        db.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(
                deleted_accounts=ConversationRow.deleted_accounts + 1,
                participants_key=secrets.token_hex(32),
            )
        )
    _delete_empty(db, conversation_ids)


def _delete_empty(db: Session, conversation_ids: Sequence[str]) -> None:
    """Delete those of these conversations that no one is in any more, with their messages."""
    someone_left = exists().where(ParticipantRow.conversation_id == ConversationRow.id)
    empty = db.scalars(
        select(ConversationRow.id).where(ConversationRow.id.in_(conversation_ids), ~someone_left)
    ).all()
    if not empty:
        return
    messages = select(MessageRow.id).where(MessageRow.conversation_id.in_(empty))
    db.execute(delete(MailboxEventRow).where(MailboxEventRow.message_id.in_(messages)))
    db.execute(delete(DeliveryRow).where(DeliveryRow.message_id.in_(messages)))
    db.execute(delete(MessageRow).where(MessageRow.conversation_id.in_(empty)))
    db.execute(delete(ConversationRow).where(ConversationRow.id.in_(empty)))
