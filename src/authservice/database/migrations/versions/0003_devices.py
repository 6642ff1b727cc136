"""The user's devices: each session's device label and last use.

Revision 0003, after 0002. Each change carries its data:
1. `sessions.device_label`, empty in the sessions that exist (their User-Agent was never kept):
   the device list shows them as an unknown device.
2. `sessions.last_used_at`, filled with the session's last rotation, or its start if it was never
   resumed: the last use known. Then it is required, as every new session sets it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_sessions = sa.table(
    "sessions",
    sa.column("rotated_at"),
    sa.column("created_at"),
    sa.column("last_used_at"),
)


def upgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        # 64 characters: user_agents.DEVICE_LABEL_MAX_CHARS when this revision was written (a
        # revision describes its own schema; a later change of the constant needs a new one).
        sessions.add_column(sa.Column("device_label", sa.String(64), nullable=True))
        sessions.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.get_bind().execute(
        sa.update(_sessions).values(
            last_used_at=sa.func.coalesce(_sessions.c.rotated_at, _sessions.c.created_at)
        )
    )
    with op.batch_alter_table("sessions") as sessions:
        sessions.alter_column(
            "last_used_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_column("last_used_at")
        sessions.drop_column("device_label")
