"""Device-bound sessions (authservice/auth/proofs.py): the device's public key on each session, and
the `jti` of every accepted proof while it could be replayed.

Revision 0004, after 0003. Sessions that were live before stay unbound (device_key NULL): they
were made without a device key, and go on working as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("device_key", sa.String(256), nullable=True))
    op.create_table(
        "proof_nonces",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_proof_nonces"),
    )
    op.create_index("ix_proof_nonces_expires_at", "proof_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_table("proof_nonces")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("device_key")
