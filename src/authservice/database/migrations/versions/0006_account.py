"""The account's own life (issue 25): re-authentication, account deletion.

Revision 0006, after 0005. Each change carries its data:
1. `sessions.authenticated_at`: when a password (or a ticket) was last given in the session; empty
   in the sessions that exist, which are then not recently authenticated: what needs it asks for
   the password again.
2. `session_tombstones`, empty: what is left of a deleted account's sessions (a keyed hash of
   each id, why it ended, when it may go), so that their pages are told why.
3. `messages.sender_id` may be empty: a message of a deleted account stays for the others.
4. `conversations.deleted_accounts`, 0 everywhere: how many of its people deleted their account.
5. `rate_limits.subject`, empty in the buckets that exist (they drain within the rate window): a
   keyed hash of whom a bucket is about, so that deleting an account deletes its buckets.

Going back to 0005 drops what 0006 added, and with it the messages of deleted accounts (0005 has
no way to hold a message without its sender) and the tombstones (those pages then hear
`session_unknown`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_messages = sa.table("messages", sa.column("id"), sa.column("sender_id"))
_deliveries = sa.table("message_deliveries", sa.column("message_id"))
_events = sa.table("mailbox_events", sa.column("message_id"))


def upgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(
            sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "session_tombstones",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("purge_after", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_session_tombstones"),
    )
    op.create_index("ix_session_tombstones_purge_after", "session_tombstones", ["purge_after"])
    with op.batch_alter_table("messages") as messages:
        messages.alter_column("sender_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("conversations") as conversations:
        conversations.add_column(
            sa.Column("deleted_accounts", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("rate_limits") as rate_limits:
        rate_limits.add_column(sa.Column("subject", sa.String(64), nullable=True))
    op.create_index("ix_rate_limits_subject", "rate_limits", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_rate_limits_subject", "rate_limits")
    with op.batch_alter_table("rate_limits") as rate_limits:
        rate_limits.drop_column("subject")
    with op.batch_alter_table("conversations") as conversations:
        conversations.drop_column("deleted_accounts")
    connection = op.get_bind()
    orphans = sa.select(_messages.c.id).where(_messages.c.sender_id.is_(None))
    connection.execute(sa.delete(_events).where(_events.c.message_id.in_(orphans)))
    connection.execute(sa.delete(_deliveries).where(_deliveries.c.message_id.in_(orphans)))
    connection.execute(sa.delete(_messages).where(_messages.c.sender_id.is_(None)))
    with op.batch_alter_table("messages") as messages:
        messages.alter_column("sender_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("session_tombstones")
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_column("authenticated_at")
