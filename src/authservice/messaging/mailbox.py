"""Each user's mailbox: the events a message stream sends, numbered 1, 2, 3, … per user.

A `message` event is a message to or from the user (the sender's own copy is the echo); a
`delivered` event tells a sender that one recipient has received their message. The events point
at the rows they are about: what a stream sends is read from those rows when it sends it.

Numbers come from the user's `mailboxes` row, which an `INSERT … ON CONFLICT DO UPDATE …
RETURNING` both creates and counts up: on PostgreSQL the row then stays locked until the
transaction ends, so a second transaction numbering events of the same user waits, and a higher
number can never commit before a lower one (SQLite takes its one write lock at BEGIN). A reader
that has seen event N has therefore seen every event up to N, and "resume after N" loses
nothing. Users are numbered in id order, so two transactions never wait on each other in a circle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from authservice.database.engine import upsert
from authservice.database.tables import MailboxEventRow, MailboxRow, MessageRow
from authservice.messaging.read_models import DeliveryView, MessageView, describe_messages

__all__ = [
    "EventKind",
    "MailboxEvent",
    "NewEvent",
    "mailbox_head",
    "mailbox_heads",
    "post_events",
    "read_mailbox",
]

EventKind = Literal["message", "delivered"]
_MAILBOXES = MailboxRow.__table__


@dataclass(frozen=True)
class NewEvent:
    """An event to add to the mailbox of `user_id`."""

    user_id: int
    kind: EventKind
    message_id: int
    recipient_id: int | None = None  # for "delivered": who received it


@dataclass(frozen=True)
class MailboxEvent:
    number: int
    kind: EventKind
    item: MessageView | DeliveryView


def post_events(db: Session, events: Sequence[NewEvent]) -> None:
    """Number the events and add them, in the caller's transaction (see the module)."""
    counts = Counter(event.user_id for event in events)
    next_number: dict[int, int] = {}
    for user_id in sorted(counts):
        count = counts[user_id]
        last = db.execute(
            upsert(db, _MAILBOXES)
            .values(user_id=user_id, last_event=count)
            .on_conflict_do_update(
                index_elements=[_MAILBOXES.c.user_id],
                set_={"last_event": _MAILBOXES.c.last_event + count},
            )
            .returning(_MAILBOXES.c.last_event)
        ).scalar_one()
        next_number[user_id] = last - count + 1
    rows = []
    for event in events:
        number = next_number[event.user_id]
        next_number[event.user_id] += 1
        rows.append(
            MailboxEventRow(
                user_id=event.user_id,
                number=number,
                kind=event.kind,
                message_id=event.message_id,
                recipient_id=event.recipient_id,
            )
        )
    db.add_all(rows)


def mailbox_head(db: Session, user_id: int) -> int:
    """The number of the user's last event (0 for none)."""
    last = db.scalar(select(MailboxRow.last_event).where(MailboxRow.user_id == user_id))
    return last or 0


def mailbox_heads(connection: Connection, user_ids: Collection[int]) -> dict[int, int]:
    """The number of each user's last event, for those who have one, in one statement."""
    rows = connection.execute(
        select(MailboxRow.user_id, MailboxRow.last_event).where(MailboxRow.user_id.in_(user_ids))
    )
    return {user_id: last_event for user_id, last_event in rows}


def read_mailbox(db: Session, user_id: int, after: int, limit: int) -> list[MailboxEvent]:
    """The user's first `limit` events after number `after`, in order."""
    rows = db.scalars(
        select(MailboxEventRow)
        .where(MailboxEventRow.user_id == user_id, MailboxEventRow.number > after)
        .order_by(MailboxEventRow.number)
        .limit(limit)
    ).all()
    if not rows:
        return []
    messages = db.scalars(
        select(MessageRow).where(MessageRow.id.in_({row.message_id for row in rows}))
    ).all()
    described = describe_messages(db, messages)
    events = []
    for row in rows:
        message = described.messages[row.message_id]
        if row.recipient_id is None:
            events.append(MailboxEvent(number=row.number, kind="message", item=message))
            continue
        recipient = described.usernames[row.recipient_id]
        delivery = DeliveryView(
            message_id=message.message_id,
            conversation_id=message.conversation_id,
            recipient=recipient,
            delivered_at=message.delivered_to[recipient],
        )
        events.append(MailboxEvent(number=row.number, kind="delivered", item=delivery))
    return events
