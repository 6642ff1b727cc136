"""Sessions: started, resumed with secret rotation and theft detection, described, listed as the
user's devices, revoked. Every revocation calls a hook (the composition root wakes the message
streams of the user with it, so that a revoked session ends its streams)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from authservice.auth.proofs import ProofRequest, check_proof, nonce_expiry
from authservice.core.errors import (
    NoSuchSession,
    ProofInvalid,
    SessionExpired,
    SessionReuseDetected,
    SessionRevoked,
    SessionUnknown,
    UnknownApplication,
)
from authservice.core.keys import (
    derive_rotated_secret,
    hash_secret,
    new_secret,
    new_session_id,
    secret_matches,
)
from authservice.database.tables import (
    ApplicationRow,
    ProofNonceRow,
    RetiredSecretRow,
    SessionRow,
    UserRow,
)

__all__ = [
    "LAST_USE_STEP",
    "DeviceSession",
    "IssuedSession",
    "RevocationHook",
    "SessionManager",
    "SessionView",
    "session_end",
]

# How precisely a session's last use is kept where recording it is the only write (a Bearer call,
# a resume within the grace window): the device list says "last used", not how often.
LAST_USE_STEP = timedelta(minutes=1)

# Called in the transaction that revokes sessions, with the ids of their users.
RevocationHook = Callable[[Session, Iterable[int]], None]

# Every answer names the user and the application: one query, not three. Inner joins, as
# PostgreSQL locks no row on the nullable side of an outer join.
_WITH_USER_AND_APPLICATION = joinedload(SessionRow.user, innerjoin=True).joinedload(
    UserRow.application, innerjoin=True
)


@dataclass(frozen=True)
class SessionView:
    application_key: str
    user_id: str
    session_id: str
    created_at: datetime
    expires_at: datetime
    idle_expires_at: datetime
    # The public JWK of the device key the session is bound to (proofs.device_key_json), or None.
    device_key: str | None


@dataclass(frozen=True)
class IssuedSession(SessionView):
    session_secret: str = field(repr=False)


@dataclass(frozen=True)
class DeviceSession:
    """One live session of a user, as their device list shows it: never its secret."""

    session_id: str
    device_label: str | None
    created_at: datetime
    last_used_at: datetime
    current: bool


class _Match(enum.Enum):
    CURRENT = "current"
    PREVIOUS = "previous"  # the generation just before the current one, within the grace window


class _SecretReused(Exception):
    def __init__(self, row: SessionRow, generation: int) -> None:
        super().__init__(row.id)
        self.user_row_id = row.user_id
        self.detected = SessionReuseDetected(
            session_id=row.id,
            user_id=row.user.username,
            application_key=row.user.application.key,
            generation=generation,
            current_generation=row.generation,
        )


class SessionManager:
    """The session rules. `start` runs in the caller's transaction; the others open their own,
    because revoking a session for a reused secret must be committed before the error is raised.

    Every rotated-out secret is kept (as a hash) for the life of the session. Presenting one
    revokes the session, except the one rotated out last, to `resume`, within the grace window:
    that is two tabs resuming at once, or a retry after a lost answer, and it gets the same
    current secret again. The Bearer endpoints take the current secret only.

    Every accepted use (a resume, a Bearer call) records the session's `last_used_at`: a resume
    that rotates writes the row anyway, and the time with it; any other use only when the time
    recorded is `LAST_USE_STEP` old, so that Bearer calls do not each add a write.

    Every revocation calls `on_revoke` in its transaction, with the user whose sessions it ends.
    """

    def __init__(
        self,
        *,
        server_key: bytes,
        session_ttl_s: float,
        idle_ttl_s: float,
        rotation_grace_s: float,
        on_revoke: RevocationHook | None = None,
    ) -> None:
        self._server_key = server_key
        self._lifetime = timedelta(seconds=session_ttl_s)
        self._idle = timedelta(seconds=idle_ttl_s)
        self._grace = timedelta(seconds=rotation_grace_s)
        self._on_revoke = on_revoke

    def __repr__(self) -> str:
        return f"SessionManager(lifetime={self._lifetime}, idle={self._idle}, grace={self._grace})"

    def start(
        self,
        db: Session,
        user: UserRow,
        now: datetime,
        device_label: str | None,
        *,
        device_key: str | None = None,
    ) -> IssuedSession:
        secret = new_secret()
        expires_at = now + self._lifetime
        row = SessionRow(
            id=new_session_id(),
            user=user,
            generation=0,
            secret_hash=hash_secret(secret),
            created_at=now,
            expires_at=expires_at,
            idle_expires_at=min(now + self._idle, expires_at),
            device_label=device_label,
            last_used_at=now,
            device_key=device_key,
        )
        db.add(row)
        return _issued(row, secret)

    def resume(
        self,
        db: Session,
        *,
        application_key: str,
        user_id: str,
        session_id: str,
        secret: str,
        proof: ProofRequest,
        now: datetime,
    ) -> IssuedSession:
        """The session with a new secret; or, for the secret rotated out last within the grace
        window, the same current secret again (it is derived from the one presented).

        Concurrent resumes of one session queue on its row lock: the first rotates, the others
        then present the secret it rotated out, within the grace window, and get the same new
        one. UnknownApplication before anything else if no application has that key."""
        with self._transaction(db, now):
            row, match = self._find(
                db, session_id, secret, proof, now, grace=True, application_key=application_key
            )
            if row.user.application.key != application_key or row.user.username != user_id:
                raise SessionUnknown()
            if match is _Match.PREVIOUS:
                current = derive_rotated_secret(self._server_key, row.id, row.generation, secret)
                if not secret_matches(current, row.secret_hash):
                    raise SessionUnknown()
                return _issued(row, current)
            db.add(
                RetiredSecretRow(
                    session_id=row.id,
                    generation=row.generation,
                    secret_hash=row.secret_hash,
                    retired_at=now,
                )
            )
            row.generation += 1
            current = derive_rotated_secret(self._server_key, row.id, row.generation, secret)
            row.secret_hash = hash_secret(current)
            row.rotated_at = now
            row.last_used_at = max(row.last_used_at, now)  # the row is written anyway
            row.idle_expires_at = min(now + self._idle, row.expires_at)
            return _issued(row, current)

    def describe(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> SessionView:
        with self._transaction(db, now):
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            return _view(row)

    def sign_out(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> SessionView:
        with self._transaction(db, now):
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            self._revoke(db, SessionRow.id == row.id, row.user_id, now, "signed_out")
            return _view(row)

    def revoke_all(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> tuple[SessionView, int]:
        """Revoke every session of the user who holds this one; how many were live."""
        with self._transaction(db, now):
            _lock_sessions_of_holder(db, session_id)
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            revoked = self._revoke(
                db, SessionRow.user_id == row.user_id, row.user_id, now, "revoked_by_user"
            )
            return _view(row), revoked

    def list_sessions(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> list[DeviceSession]:
        """The live sessions of the user who holds this one, the most recently used first."""
        with self._transaction(db, now):
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            live = db.scalars(
                select(SessionRow)
                .where(
                    SessionRow.user_id == row.user_id,
                    SessionRow.revoked_at.is_(None),
                    SessionRow.expires_at > now,
                    SessionRow.idle_expires_at > now,
                )
                .order_by(SessionRow.last_used_at.desc(), SessionRow.id)
            ).all()
            return [_device(each, current=each.id == row.id) for each in live]

    def revoke_session(
        self,
        db: Session,
        session_id: str,
        secret: str,
        target_id: str,
        proof: ProofRequest,
        now: datetime,
    ) -> tuple[SessionView, bool]:
        """Revoke one session of the user who holds this one (this one too, if named); whether
        it was still live. NoSuchSession for any id that is not one of that user's sessions."""
        with self._transaction(db, now):
            # Both rows, in id order: two devices signing each other out at once would otherwise
            # each hold its own row's lock (`_find`) and wait for the other's.
            db.execute(
                select(SessionRow.id)
                .where(SessionRow.id.in_([session_id, target_id]))
                .order_by(SessionRow.id)
                .with_for_update()
            )
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            target = db.scalars(
                select(SessionRow).where(
                    SessionRow.id == target_id, SessionRow.user_id == row.user_id
                )
            ).first()
            if target is None:
                raise NoSuchSession()
            revoked = self._revoke(
                db, SessionRow.id == target.id, row.user_id, now, "revoked_by_user"
            )
            return _view(row), revoked == 1

    def _find(
        self,
        db: Session,
        session_id: str,
        secret: str,
        proof: ProofRequest,
        now: datetime,
        *,
        grace: bool,
        application_key: str | None = None,
    ) -> tuple[SessionRow, _Match]:
        """The session these credentials open, locked, its use recorded; or the error that
        refuses it (see `_match`)."""
        row, match = self._match(
            db, session_id, secret, proof, now, grace=grace, application_key=application_key
        )
        if now - row.last_used_at >= LAST_USE_STEP:
            row.last_used_at = now
        return row, match

    def _match(
        self,
        db: Session,
        session_id: str,
        secret: str,
        proof: ProofRequest,
        now: datetime,
        *,
        grace: bool,
        application_key: str | None,
    ) -> tuple[SessionRow, _Match]:
        """The session, locked, and which of its secrets `secret` is; SessionRejected if none, or
        if it is over, or if it is bound and the proof is not right. UnknownApplication first if
        `application_key` is given and unknown."""
        row = db.scalars(
            select(SessionRow)
            .options(_WITH_USER_AND_APPLICATION)
            .where(SessionRow.id == session_id)
            .with_for_update(of=SessionRow)
        ).first()
        # The session's application is loaded with it: only a session of another application, or
        # none, costs a query to tell an unknown key apart.
        if (
            application_key is not None
            and (row is None or row.user.application.key != application_key)
            and db.scalar(select(ApplicationRow.id).where(ApplicationRow.key == application_key))
            is None
        ):
            raise UnknownApplication()
        if row is None:
            raise SessionUnknown()
        if row.device_key is not None:
            _use_proof(db, row.device_key, row.id, secret, proof, now)
        retired = None
        if not secret_matches(secret, row.secret_hash):
            retired = db.scalars(
                select(RetiredSecretRow).where(
                    RetiredSecretRow.session_id == row.id,
                    RetiredSecretRow.secret_hash == hash_secret(secret),
                )
            ).first()
            if retired is None:
                raise SessionUnknown()
        if row.revoked_at is not None:
            raise SessionRevoked()
        if now >= row.expires_at or now >= row.idle_expires_at:
            raise SessionExpired()
        if retired is None:
            return row, _Match.CURRENT
        if (
            grace
            and retired.generation == row.generation - 1
            and now - retired.retired_at <= self._grace
        ):
            return row, _Match.PREVIOUS
        raise _SecretReused(row, retired.generation)

    @contextmanager
    def _transaction(self, db: Session, now: datetime) -> Iterator[None]:
        try:
            with db.begin():
                yield
        except _SecretReused as reuse:
            with db.begin():
                self._revoke(
                    db,
                    SessionRow.id == reuse.detected.session_id,
                    reuse.user_row_id,
                    now,
                    "secret_reused",
                )
            raise reuse.detected from None

    def _revoke(
        self, db: Session, which: ColumnElement[bool], user_id: int, now: datetime, reason: str
    ) -> int:
        """Revoke the live sessions `which` picks, all of user `user_id`; how many."""
        result = db.execute(
            update(SessionRow)
            .where(which, SessionRow.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        if self._on_revoke is not None:
            self._on_revoke(db, [user_id])
        # An UPDATE's result is a cursor result, which counts the rows it changed.
        return int(cast("CursorResult[Any]", result).rowcount)


def session_end(db: Session, session_id: str, now: datetime) -> datetime:
    """When the session will end, unless a resume moves it; SessionUnknown, SessionRevoked or
    SessionExpired if it has. By id alone, for a caller that checked the credentials before (a
    message stream): a rotation of the secret since then changes nothing."""
    row = db.execute(
        select(SessionRow.revoked_at, SessionRow.expires_at, SessionRow.idle_expires_at).where(
            SessionRow.id == session_id
        )
    ).first()
    if row is None:
        raise SessionUnknown()
    if row.revoked_at is not None:
        raise SessionRevoked()
    ends_at: datetime = min(row.expires_at, row.idle_expires_at)
    if now >= ends_at:
        raise SessionExpired()
    return ends_at


def _use_proof(
    db: Session,
    device_key: str,
    session_id: str,
    secret: str,
    proof: ProofRequest,
    now: datetime,
) -> None:
    """Check the proof for a bound session and spend its `jti`. Two workers given one proof at
    once both insert: the second waits for the first to commit, then fails on the primary key."""
    claims = check_proof(
        proof, device_key=device_key, session_id=session_id, secret=secret, now=now
    )
    try:
        with db.begin_nested():
            db.add(ProofNonceRow(jti=claims.jti, expires_at=nonce_expiry(claims)))
    except IntegrityError:
        raise ProofInvalid("replayed") from None


def _lock_sessions_of_holder(db: Session, session_id: str) -> None:
    """Lock every session of the user who holds this one, in id order. Two revoke-alls of one
    user would otherwise each hold their own session's lock (`_find`) and wait for the other's."""
    holder = select(SessionRow.user_id).where(SessionRow.id == session_id).scalar_subquery()
    db.execute(
        select(SessionRow.id)
        .where(SessionRow.user_id == holder)
        .order_by(SessionRow.id)
        .with_for_update()
    )


def _view(row: SessionRow) -> SessionView:
    return SessionView(
        application_key=row.user.application.key,
        user_id=row.user.username,
        session_id=row.id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        idle_expires_at=row.idle_expires_at,
        device_key=row.device_key,
    )


def _device(row: SessionRow, *, current: bool) -> DeviceSession:
    return DeviceSession(
        session_id=row.id,
        device_label=row.device_label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        current=current,
    )


def _issued(row: SessionRow, secret: str) -> IssuedSession:
    return IssuedSession(**asdict(_view(row)), session_secret=secret)
