"""The hardening: usernames unique regardless of case and width, every rotated-out secret kept,
rate limits in the database, application secrets sealed.

Revision 0002, after 0001. Each change carries its data:
1. `users.username_key` = `username_key(username)`, unique per application. Users whose
   names now collide are reported first, and nothing is changed.
2. `retired_session_secrets`, filled with each session's `previous_secret_hash` (as generation
   `generation - 1`, retired at `rotated_at`), which then goes: theft detection and the grace
   window carry on for sessions that were live before.
3. `rate_limits`, empty.
4. Every application secret without the `v1:` prefix is sealed with the server key.

Frozen: what this revision needs of the service (the username key, the sealing of secrets, the
name under which the server key is handed over) is copied in below as the service had it when
the revision was written, so that no later change to the service can change what it does.
"""

from __future__ import annotations

import base64
import os
import unicodedata
from collections import defaultdict
from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_applications = sa.table(
    "applications", sa.column("id"), sa.column("key"), sa.column("secret", sa.String)
)
_users = sa.table(
    "users",
    sa.column("id"),
    sa.column("application_id"),
    sa.column("username", sa.String),
    sa.column("username_key", sa.String),
)
_sessions = sa.table(
    "sessions",
    sa.column("id"),
    sa.column("generation", sa.Integer),
    sa.column("previous_secret_hash"),
    sa.column("rotated_at"),
    sa.column("created_at"),
)
_retired = sa.table(
    "retired_session_secrets",
    sa.column("session_id"),
    sa.column("generation", sa.Integer),
    sa.column("secret_hash"),
    sa.column("retired_at"),
)
# How many colliding names a refusal lists.
_SHOWN = 5
# Where `python -m authservice migrate` hands over the server key (config.attributes).
_SERVER_KEY_ATTRIBUTE = "server_key"
# A sealed secret: this prefix, then base64url(nonce + AES-256-GCM ciphertext and tag), unpadded,
# under a key derived from the server key for this purpose, the application key as associated data.
_SEALED_PREFIX = "v1:"
_SEALING_PURPOSE = b"authservice application secrets v1"
_NONCE_BYTES = 12


class MigrationRefused(ValueError):
    """Something in the database stops this migration; nothing was changed."""


def upgrade() -> None:
    connection = op.get_bind()
    keys = _username_keys(connection)

    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("username_key", sa.String(128), nullable=True))
    if keys:
        connection.execute(
            sa.update(_users)
            .where(_users.c.id == sa.bindparam("row_id"))
            .values(username_key=sa.bindparam("key")),
            [{"row_id": row_id, "key": key} for row_id, key in keys.items()],
        )
    with op.batch_alter_table("users") as users:
        users.alter_column("username_key", existing_type=sa.String(128), nullable=False)
        users.create_unique_constraint(
            "uq_users_application_id_username_key", ["application_id", "username_key"]
        )

    op.create_table(
        "retired_session_secrets",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "generation", name="pk_retired_session_secrets"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_retired_session_secrets_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_retired_session_secrets_hash", "retired_session_secrets", ["session_id", "secret_hash"]
    )
    rotated = sa.select(
        _sessions.c.id,
        _sessions.c.generation - 1,
        _sessions.c.previous_secret_hash,
        sa.func.coalesce(_sessions.c.rotated_at, _sessions.c.created_at),
    ).where(_sessions.c.previous_secret_hash.is_not(None))
    connection.execute(sa.insert(_retired).from_select(list(_retired.c), rotated))
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_column("previous_secret_hash")

    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("empty_at_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_rate_limits"),
    )

    _rewrite_secrets(connection, _seal, sealed=False)


def downgrade() -> None:
    connection = op.get_bind()
    _rewrite_secrets(connection, _unseal, sealed=True)
    op.drop_table("rate_limits")

    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(sa.Column("previous_secret_hash", sa.String(64), nullable=True))
    sessions_table = sa.table(
        "sessions", sa.column("id"), sa.column("generation"), sa.column("previous_secret_hash")
    )
    previous = (
        sa.select(_retired.c.secret_hash)
        .where(
            _retired.c.session_id == sessions_table.c.id,
            _retired.c.generation == sessions_table.c.generation - 1,
        )
        .scalar_subquery()
    )
    connection.execute(sa.update(sessions_table).values(previous_secret_hash=previous))
    op.drop_table("retired_session_secrets")

    with op.batch_alter_table("users") as users:
        users.drop_constraint("uq_users_application_id_username_key", type_="unique")
        users.drop_column("username_key")


def _username_keys(connection: sa.Connection) -> dict[int, str]:
    """Each user's key; MigrationRefused if two users of one application would share one."""
    query = sa.select(_users.c.id, _users.c.username, _applications.c.key).join_from(
        _users, _applications, _users.c.application_id == _applications.c.id
    )
    keys: dict[int, str] = {}
    by_key: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for row_id, username, application_key in connection.execute(query):
        keys[row_id] = _username_key(username)
        by_key[(application_key, keys[row_id])].append(username)
    clashes = [(application, names) for (application, _), names in by_key.items() if len(names) > 1]
    if clashes:
        shown = "; ".join(
            f"{' and '.join(repr(name) for name in sorted(names))} in application {application}"
            for application, names in clashes[:_SHOWN]
        )
        more = f" (and {len(clashes) - _SHOWN} more)" if len(clashes) > _SHOWN else ""
        raise MigrationRefused(
            f"Usernames are now the same regardless of case and width, and {len(clashes)} "
            f"group(s) of users would share one: {shown}{more}; rename or remove all but one user "
            "of each group, then migrate again (nothing was changed)."
        )
    return keys


def _rewrite_secrets(
    connection: sa.Connection, rewrite: Callable[[AESGCM, str, str], str], *, sealed: bool
) -> None:
    """Seal the plain application secrets (or, going down, open the sealed ones)."""
    rows = [
        row
        for row in connection.execute(sa.select(_applications))
        if row.secret.startswith(_SEALED_PREFIX) == sealed
    ]
    if not rows:
        return
    server_key = context.config.attributes.get(_SERVER_KEY_ATTRIBUTE)
    if server_key is None:
        raise MigrationRefused(
            "Sealing the application secrets needs the server key: migrate with "
            "`python -m authservice migrate` and the service's --data-dir."
        )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEALING_PURPOSE)
    aead = AESGCM(hkdf.derive(server_key))
    connection.execute(
        sa.update(_applications)
        .where(_applications.c.id == sa.bindparam("row_id"))
        .values(secret=sa.bindparam("rewritten")),
        [{"row_id": row.id, "rewritten": rewrite(aead, row.secret, row.key)} for row in rows],
    )


def _username_key(name: str) -> str:
    """What makes two usernames the same: NFKC(casefold(NFKC(name)))."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _seal(aead: AESGCM, secret: str, application_key: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + aead.encrypt(nonce, secret.encode(), application_key.encode())
    return _SEALED_PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def _unseal(aead: AESGCM, stored: str, application_key: str) -> str:
    text = stored.removeprefix(_SEALED_PREFIX)
    sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    try:
        plain = aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], application_key.encode())
    except InvalidTag:
        raise MigrationRefused(
            f"The secret of application {application_key!r} does not open with this server key; "
            "nothing was changed."
        ) from None
    return plain.decode()
