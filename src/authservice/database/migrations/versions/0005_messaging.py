"""Messages between users of one application (authservice/messaging/): conversations and their
participants, messages and their delivery to each recipient, and each user's mailbox, the
numbered events that the stream sends.

Revision 0005, after 0004. New tables only: nothing that exists changes. Going back to 0004 drops
them, and every message with them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("participants_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.UniqueConstraint("participants_key", name="uq_conversations_participants_key"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_messages_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"], name="fk_messages_sender_id_users"),
    )
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "id"])
    op.create_table(
        "conversation_participants",
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_participants"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_participants_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_conversation_participants_user_id_users"
        ),
    )
    op.create_index(
        "ix_conversation_participants_recent",
        "conversation_participants",
        ["user_id", "last_message_id"],
    )
    op.create_table(
        "message_deliveries",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "recipient_id", name="pk_message_deliveries"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_deliveries_message_id_messages"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name="fk_message_deliveries_recipient_id_users"
        ),
    )
    op.create_table(
        "mailboxes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_event", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_mailboxes"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_mailboxes_user_id_users"),
    )
    op.create_table(
        "mailbox_events",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "number", name="pk_mailbox_events"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_mailbox_events_user_id_users"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_mailbox_events_message_id_messages"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name="fk_mailbox_events_recipient_id_users"
        ),
    )


def downgrade() -> None:
    for table in (
        "mailbox_events",
        "mailboxes",
        "message_deliveries",
        "conversation_participants",
        "messages",
        "conversations",
    ):
        op.drop_table(table)
