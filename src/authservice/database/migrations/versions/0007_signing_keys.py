"""Access tokens (authservice/tokens/): the keys that sign them, and the audiences each application
may name in them besides its own key.

Revision 0007. New tables only: nothing that exists changes, and no key is made here (the service
makes its first one when it first needs it). Going back drops them: every access token issued
until then stops verifying, and the audiences must be registered again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(256), nullable=False),
        sa.Column("private_key", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )
    op.create_table(
        "application_audiences",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "audience", name="pk_application_audiences"),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_application_audiences_application_id_applications",
        ),
    )


def downgrade() -> None:
    op.drop_table("application_audiences")
    op.drop_table("signing_keys")
