"""The database's tables, in column types that SQLite and PostgreSQL share.

The schema in a database is made and changed by the migrations (`migrations/versions/`), never from
these classes; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AUDIENCE_MAX_CHARS",
    "DEVICE_LABEL_MAX_CHARS",
    "NAMING_CONVENTION",
    "ApplicationAudienceRow",
    "ApplicationRow",
    "Base",
    "ConversationRow",
    "DeliveryRow",
    "MailboxEventRow",
    "MailboxRow",
    "MessageRow",
    "ParticipantRow",
    "ProofNonceRow",
    "RateLimitRow",
    "RetiredSecretRow",
    "SessionRow",
    "SessionTombstoneRow",
    "SigningKeyRow",
    "TicketNonceRow",
    "UserRow",
]


# The longest device label a session holds: auth/devices.py makes far shorter ones (a browser and a
# system from two short lists; a test checks them all).
DEVICE_LABEL_MAX_CHARS = 64
# The longest audience (a URL) an application may register for its access tokens.
AUDIENCE_MAX_CHARS = 255


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Every constraint and index gets a predictable name on every backend, so that a migration can
# name the one it changes (Alembic's advice; SQLite would otherwise leave them unnamed).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApplicationRow(Base):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    # Checking a ticket's HMAC needs the secret itself: it is sealed (core/sealing.py), not hashed.
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"ApplicationRow(key={self.key!r}, name={self.name!r})"


class ApplicationAudienceRow(Base):
    """An audience (the URL of an API of the application) that its access tokens may name as `aud`,
    besides the application key (tokens/)."""

    __tablename__ = "application_audiences"

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    audience: Mapped[str] = mapped_column(String(AUDIENCE_MAX_CHARS), primary_key=True)

    def __repr__(self) -> str:
        return f"ApplicationAudienceRow({self.application_id}, {self.audience!r})"


class SigningKeyRow(Base):
    """A key that signs access tokens (tokens/signing_keys.py): ES256, its id the RFC 7638
    thumbprint of its public half. The newest one not retired signs; every row is published in
    the JWKS, so removing a row is what makes the tokens it signed fail."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(256))  # the public JWK, as JSON
    # The private scalar, sealed (core/sealing.py, SigningKeySealer) for this kid.
    private_key: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"SigningKeyRow(kid={self.kid!r}, retired_at={self.retired_at!r})"


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("application_id", "username"),
        UniqueConstraint("application_id", "username_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    # As typed at sign-up (it is the userId); `username_key` (auth/rules.py) is what makes two
    # names the same. Case folding can triple a name's length.
    username: Mapped[str] = mapped_column(String(32))
    username_key: Mapped[str] = mapped_column(String(128))
    # None for users created by a ticket: they cannot sign in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    application: Mapped[ApplicationRow] = relationship()

    def __repr__(self) -> str:
        return f"UserRow(username={self.username!r}, application_id={self.application_id})"


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    # SHA-256 hex of the current secret; rotated-out ones are RetiredSecretRows.
    secret_hash: Mapped[str] = mapped_column(String(64))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    # What the user's device list shows: a label made from the User-Agent at sign-in (never the
    # header itself; None when it named nothing known, and in sessions older than the column),
    # and when the session was last presented (auth/sessions.py: LAST_USE_STEP says how precisely).
    device_label: Mapped[str | None] = mapped_column(String(DEVICE_LABEL_MAX_CHARS))
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The public JWK of the device key the session is bound to (auth/proofs.py); None: not bound.
    device_key: Mapped[str | None] = mapped_column(String(256))
    # When a password (or a ticket) was last given in this session: what cannot be undone needs it
    # recent (auth/sessions.py). None in sessions older than the column.
    authenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[UserRow] = relationship()

    def __repr__(self) -> str:
        return f"SessionRow(id={self.id!r}, generation={self.generation})"


class RetiredSecretRow(Base):
    """A secret rotated out of a session, kept as long as the session, so that presenting any old
    generation again is recognised as reuse (and revokes the session)."""

    __tablename__ = "retired_session_secrets"
    __table_args__ = (Index("ix_retired_session_secrets_hash", "session_id", "secret_hash"),)

    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"RetiredSecretRow(session_id={self.session_id!r}, generation={self.generation})"


class SessionTombstoneRow(Base):
    """What is left of a session of a deleted account: a keyed hash of its id (never the id), why it
    ended, and when it may go (its latest possible end). Its page is told why at its next call."""

    __tablename__ = "session_tombstones"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TicketNonceRow(Base):
    """A used ticket's nonce, kept until the ticket expires, so that it cannot be replayed."""

    __tablename__ = "ticket_nonces"

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProofNonceRow(Base):
    """The `jti` of an accepted proof (auth/proofs.py), kept while its `iat` would still be
    accepted, so that the proof cannot be replayed."""

    __tablename__ = "proof_nonces"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateLimitRow(Base):
    """One rate-limit bucket (rate_limits.py). Named by a keyed hash, so that no username or address
    is stored here."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unix time (s) at which the bucket will have drained empty; in the past when it is empty.
    empty_at_s: Mapped[float] = mapped_column(Double)
    # A keyed hash of whom the bucket is about (a username, a user), if anyone: deleting an
    # account deletes its buckets by it.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)

    def __repr__(self) -> str:
        return f"RateLimitRow(bucket={self.bucket[:12]!r}…, empty_at_s={self.empty_at_s})"


class ConversationRow(Base):
    """The people who write to each other: the same set of users is always the same conversation."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # cnv_ and 22 url-safe characters
    # SHA-256 hex of the participants' user ids, sorted: what makes two sets the same. A random
    # one once someone in it deleted their account: no new set of users is ever this one again.
    participants_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How many of its people have deleted their account (their messages stay, from no one).
    deleted_accounts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"ConversationRow(id={self.id!r})"


class ParticipantRow(Base):
    """A user in a conversation, with the conversation's last message: a user's conversations are
    listed by it, newest first, from one index."""

    __tablename__ = "conversation_participants"
    __table_args__ = (Index("ix_conversation_participants_recent", "user_id", "last_message_id"),)

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_message_id: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"ParticipantRow(conversation_id={self.conversation_id!r}, user_id={self.user_id})"


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    # None once the sender deleted their account: the message stays for the others.
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)  # as sent: never trimmed or altered
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"MessageRow(id={self.id}, conversation_id={self.conversation_id!r})"


class DeliveryRow(Base):
    """One recipient of one message; `delivered_at` once their device said it has it."""

    __tablename__ = "message_deliveries"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"DeliveryRow(message_id={self.message_id}, recipient_id={self.recipient_id})"


class MailboxRow(Base):
    """A user's mailbox counter: the number of its last event. Its row is locked while a
    transaction numbers an event, so a higher number never commits before a lower one."""

    __tablename__ = "mailboxes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_event: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"MailboxRow(user_id={self.user_id}, last_event={self.last_event})"


class MailboxEventRow(Base):
    """Event `number` (1, 2, 3, … per user) of a user's mailbox: a message to or from them
    (`recipient_id` None), or the delivery of their message to `recipient_id`."""

    __tablename__ = "mailbox_events"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "message" or "delivered"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"MailboxEventRow(user_id={self.user_id}, number={self.number}, kind={self.kind!r})"
