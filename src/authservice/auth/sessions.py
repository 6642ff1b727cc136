"""Sessions: started, resumed with secret rotation and theft detection, described, listed as the
user's devices, revoked; re-authenticated, and ended by a password change or the account's
deletion. Every revocation calls a hook (the composition root wakes the message streams of the
user with it, so that a revoked session ends its streams)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from authservice.auth.proofs import ProofNonces, ProofRequest, check_proof, nonce_expiry
from authservice.core.errors import (
    AccountDeleted,
    AuthError,
    NoSuchSession,
    PasswordChanged,
    ProofInvalid,
    ReauthenticationRequired,
    ServiceBusy,
    SessionExpired,
    SessionRejected,
    SessionReuseDetected,
    SessionRevoked,
    SessionUnknown,
    UnknownApplication,
    WrongPassword,
)
from authservice.core.keys import (
    derive_key,
    derive_next_secret,
    derive_rotated_secret,
    hash_secret,
    keyed_digest,
    new_secret,
    new_session_id,
    secret_matches,
)
from authservice.database.tables import (
    ApplicationRow,
    ProofNonceRow,
    RetiredSecretRow,
    SessionRow,
    SessionTombstoneRow,
    UserRow,
)

__all__ = [
    "LAST_USE_STEP",
    "AccountHolder",
    "DeviceSession",
    "ForgetUser",
    "IssuedSession",
    "RevocationHook",
    "SessionManager",
    "SessionView",
]

# How precisely a session's last use is kept where recording it is the only write (a Bearer call,
# a resume within the grace window): the device list says "last used", not how often.
LAST_USE_STEP = timedelta(minutes=1)

# Called in the transaction that revokes sessions, with the ids of their users.
RevocationHook = Callable[[Session, Iterable[int]], None]
# Called in the transaction that deletes an account, before its user row goes: delete whatever
# else names the user (messaging, rate limits).
ForgetUser = Callable[[Session, UserRow], None]

# Why a session was revoked (sessions.revoked_reason), where it is not the plain SessionRevoked.
_REVOKED_BECAUSE: dict[str | None, type[SessionRevoked]] = {"password_changed": PasswordChanged}
_ACCOUNT_DELETED = "account_deleted"

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
    user_row_id: int  # the user's row: a new account of the same name is another one
    # The public JWK of the device key the session is bound to (proofs.device_key_json), or None.
    device_key: str | None


@dataclass(frozen=True)
class IssuedSession(SessionView):
    session_secret: str = field(repr=False)
    # Said beside the session object at a password sign-in, never kept with it: the password is
    # one the policy would refuse now, and the page asks for a new one first.
    password_change_required: bool = False


@dataclass(frozen=True)
class AccountHolder:
    """The session a request presents, checked, and what a password check needs of its user."""

    view: SessionView
    password_hash: str | None = field(repr=False)


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


class _RefusedAfterUse(Exception):
    """A refusal that must not undo what checking the session did (its proof's `jti` spent, its
    use recorded): raised inside a transaction, raised again after the commit."""

    def __init__(self, error: AuthError) -> None:
        super().__init__(error.code)
        self.error = error


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

    What cannot be undone (signing other devices out, deleting the account) needs the session
    recently authenticated: a password (or a ticket) given in it within `reauth_window_s`
    (`authenticated_at`, set at sign-in and by `mark_authenticated`). Otherwise
    ReauthenticationRequired, once the check of the session itself is committed.

    Locks, on PostgreSQL (SQLite runs one writer at a time): whatever locks a user's row locks it
    before any of their sessions, and sessions in id order; a resume locks its one session. So
    no two transactions wait on each other in a circle, and a password change or an account's
    deletion, which lock the user and then every session of theirs, decide against every sign-in
    and resume of that user at once: each of those either commits before (and is then undone
    with the rest) or waits and finds the change.

    Every revocation calls `on_revoke` in its transaction, with the user whose sessions it ends.
    A deleted account's sessions leave a tombstone each (a keyed hash of the id, never the id),
    until their latest possible end, so that their pages hear `account_deleted`.
    """

    def __init__(
        self,
        *,
        server_key: bytes,
        session_ttl_s: float,
        idle_ttl_s: float,
        rotation_grace_s: float,
        reauth_window_s: float,
        on_revoke: RevocationHook | None = None,
    ) -> None:
        self._server_key = server_key
        self._tombstone_key = derive_key(server_key, "authservice session tombstones v1")
        self.proof_nonces = ProofNonces(derive_key(server_key, "authservice proof nonces v1"))
        self._lifetime = timedelta(seconds=session_ttl_s)
        self._idle = timedelta(seconds=idle_ttl_s)
        self._grace = timedelta(seconds=rotation_grace_s)
        self._recent = timedelta(seconds=reauth_window_s)
        self._on_revoke = on_revoke

    def __repr__(self) -> str:
        return (
            f"SessionManager(lifetime={self._lifetime}, idle={self._idle}, grace={self._grace}, "
            f"reauth_window={self._recent})"
        )

    def start(
        self,
        db: Session,
        user: UserRow,
        now: datetime,
        device_label: str | None,
        *,
        device_key: str | None = None,
    ) -> IssuedSession:
        """A new session, in the caller's transaction. Every sign-in (a password, or a ticket the
        application's backend signed just now) is an authentication: the session starts recent."""
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
            authenticated_at=now,
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
                return _issued(row, self._current_from_previous(row, secret))
            return self._rotate(db, row, secret, now)

    def describe(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> SessionView:
        with self._transaction(db, now):
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            return _view(row)

    def holder(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> AccountHolder:
        """The session, checked as `describe` checks it, with its user's row id and password
        hash: what a check of the user's password needs (re-authentication, a password change)."""
        with self._transaction(db, now):
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            return AccountHolder(_view(row), row.user.password_hash)

    def sign_out(
        self, db: Session, session_id: str, secret: str, proof: ProofRequest, now: datetime
    ) -> SessionView:
        with self._transaction(db, now):
            row, _ = self._find(db, session_id, secret, proof, now, grace=False)
            self._revoke(db, SessionRow.id == row.id, row.user_id, now, "signed_out")
            return _view(row)

    def revoke_all(
        self,
        db: Session,
        session_id: str,
        secret: str,
        proof: ProofRequest,
        now: datetime,
        *,
        keep_this_one: bool = False,
    ) -> tuple[SessionView, int]:
        """Revoke every session of the user who holds this one (but this one, if
        `keep_this_one`); how many were live. Needs this one recently authenticated."""
        with self._transaction(db, now):
            _lock_sessions_of_holder(db, session_id)
            row, _ = self._find(db, session_id, secret, proof, now, grace=False, recent=True)
            which = SessionRow.user_id == row.user_id
            if keep_this_one:
                which = which & (SessionRow.id != row.id)
            revoked = self._revoke(db, which, row.user_id, now, "revoked_by_user")
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
        it was still live. NoSuchSession for any id that is not one of that user's sessions.
        Another device's needs this one recently authenticated; this one's own does not."""
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
            if target.id != row.id:
                self._require_recent(row, now)
            revoked = self._revoke(
                db, SessionRow.id == target.id, row.user_id, now, "revoked_by_user"
            )
            return _view(row), revoked == 1

    def mark_authenticated(
        self,
        db: Session,
        session_id: str,
        user_row_id: int,
        checked_hash: str,
        new_hash: str | None,
        now: datetime,
    ) -> SessionView:
        """The password checked against `checked_hash` was right: the session is recently
        authenticated from `now` (and the hash replaced by `new_hash`, if one is given). In a
        transaction of the caller's. WrongPassword if the password changed since it was read;
        the session's refusal if it has ended meanwhile."""
        user = _lock_user(db, user_row_id)
        if user is None or user.password_hash != checked_hash:
            raise WrongPassword()
        row = self._live(db, session_id, now)
        row.authenticated_at = now
        if new_hash is not None:
            user.password_hash = new_hash
        return _view(row)

    def change_password(
        self,
        db: Session,
        *,
        session_id: str,
        secret: str,
        user_row_id: int,
        checked_hash: str,
        new_hash: str,
        now: datetime,
    ) -> tuple[IssuedSession, int]:
        """The password checked against `checked_hash` was right: replace it by `new_hash`, end
        every other session of the user (`password_changed`), and rotate this one, which counts
        as recently authenticated; the rotated session and how many others were live. In a
        transaction of the caller's, the session checked before (`holder`).

        Decided under the locks of the user and of all their sessions: of two changes at once
        one wins, and the other finds its password no longer the one it checked (WrongPassword)
        or its session ended (PasswordChanged). ServiceBusy if this session's secret was rotated
        meanwhile (another tab resumed it): the client tries again with the new one."""
        user = _lock_user(db, user_row_id)
        if user is None or user.password_hash != checked_hash:
            raise WrongPassword()
        _lock_sessions_of_holder(db, session_id)
        row = self._live(db, session_id, now)
        if not secret_matches(secret, row.secret_hash):
            raise ServiceBusy()
        user.password_hash = new_hash
        others = self._revoke(
            db,
            (SessionRow.user_id == user.id) & (SessionRow.id != row.id),
            user.id,
            now,
            "password_changed",
        )
        row.authenticated_at = now
        return self._rotate(db, row, secret, now), others

    def delete_account(
        self,
        db: Session,
        session_id: str,
        secret: str,
        proof: ProofRequest,
        now: datetime,
        *,
        forget: ForgetUser,
    ) -> SessionView:
        """Delete the user who holds this session, with every session of theirs (each leaves a
        tombstone) and, through `forget`, whatever else names them. Needs this session recently
        authenticated."""
        with self._transaction(db, now):
            holder = select(SessionRow.user_id).where(SessionRow.id == session_id)
            db.execute(select(UserRow.id).where(UserRow.id.in_(holder)).with_for_update())
            _lock_sessions_of_holder(db, session_id)
            row, _ = self._find(db, session_id, secret, proof, now, grace=False, recent=True)
            view, user, user_row_id = _view(row), row.user, row.user_id
            ended = db.execute(
                select(SessionRow.id, SessionRow.expires_at).where(
                    SessionRow.user_id == user_row_id, SessionRow.expires_at > now
                )
            ).all()
            db.add_all(
                SessionTombstoneRow(
                    id_hash=self._tombstone_name(ended_id),
                    reason=_ACCOUNT_DELETED,
                    purge_after=expires_at,
                )
                for ended_id, expires_at in ended
            )
            forget(db, user)
            # Their retired secrets go with them (ON DELETE CASCADE).
            db.execute(delete(SessionRow).where(SessionRow.user_id == user_row_id))
            db.execute(delete(UserRow).where(UserRow.id == user_row_id))
            if self._on_revoke is not None:
                self._on_revoke(db, [user_row_id])
            return view

    def session_end(self, db: Session, session_id: str, now: datetime) -> datetime:
        """When the session will end, unless a resume moves it; its SessionRejected if it has.
        By id alone, for a caller that checked the credentials before (a message stream): a
        rotation of the secret since then changes nothing."""
        row = db.execute(
            select(
                SessionRow.revoked_at,
                SessionRow.revoked_reason,
                SessionRow.expires_at,
                SessionRow.idle_expires_at,
            ).where(SessionRow.id == session_id)
        ).first()
        if row is None:
            raise self._unknown(db, session_id)
        if row.revoked_at is not None:
            raise _revoked(row.revoked_reason)
        ends_at: datetime = min(row.expires_at, row.idle_expires_at)
        if now >= ends_at:
            raise SessionExpired()
        return ends_at

    @staticmethod
    def ended_sessions(
        connection: Connection, session_ids: Collection[str], now: datetime
    ) -> set[str]:
        """Which of these sessions have ended (revoked, expired or gone), by id alone, in one
        statement: the message streams' shared check (messaging/stream_checks.py)."""
        live = connection.scalars(
            select(SessionRow.id).where(
                SessionRow.id.in_(session_ids),
                SessionRow.revoked_at.is_(None),
                SessionRow.expires_at > now,
                SessionRow.idle_expires_at > now,
            )
        )
        return set(session_ids).difference(live)

    def _rotate(self, db: Session, row: SessionRow, secret: str, now: datetime) -> IssuedSession:
        """Rotate the session's secret, `secret` being its current one."""
        db.add(
            RetiredSecretRow(
                session_id=row.id,
                generation=row.generation,
                secret_hash=row.secret_hash,
                retired_at=now,
            )
        )
        row.generation += 1
        current = derive_next_secret(self._server_key, row.id, secret)
        row.secret_hash = hash_secret(current)
        row.rotated_at = now
        row.last_used_at = max(row.last_used_at, now)  # the row is written anyway
        row.idle_expires_at = min(now + self._idle, row.expires_at)
        return _issued(row, current)

    def _current_from_previous(self, row: SessionRow, previous: str) -> str:
        """The session's current secret, derived again from the one it rotated out last; as a
        version before issue 26 derived it, if it rotated the session last."""
        for current in (
            derive_next_secret(self._server_key, row.id, previous),
            derive_rotated_secret(self._server_key, row.id, row.generation, previous),
        ):
            if secret_matches(current, row.secret_hash):
                return current
        raise SessionUnknown()

    def _live(self, db: Session, session_id: str, now: datetime) -> SessionRow:
        """The session, locked, checked before by its credentials: its refusal if it has ended
        since."""
        row = db.scalars(
            select(SessionRow)
            .options(_WITH_USER_AND_APPLICATION)
            .where(SessionRow.id == session_id)
            .with_for_update(of=SessionRow)
        ).first()
        if row is None:
            raise self._unknown(db, session_id)
        if row.revoked_at is not None:
            raise _revoked(row.revoked_reason)
        if now >= row.expires_at or now >= row.idle_expires_at:
            raise SessionExpired()
        return row

    def _require_recent(self, row: SessionRow, now: datetime) -> None:
        authenticated_at = row.authenticated_at
        if authenticated_at is None or now - authenticated_at > self._recent:
            raise _RefusedAfterUse(ReauthenticationRequired())

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
        recent: bool = False,
    ) -> tuple[SessionRow, _Match]:
        """The session these credentials open, locked, its use recorded; or the error that
        refuses it (see `_match`), and with `recent` ReauthenticationRequired (after the commit)
        unless it was authenticated recently."""
        row, match = self._match(
            db, session_id, secret, proof, now, grace=grace, application_key=application_key
        )
        if now - row.last_used_at >= LAST_USE_STEP:
            row.last_used_at = now
        if recent:
            self._require_recent(row, now)
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
            raise self._unknown(db, session_id)
        if row.device_key is not None:
            self._use_proof(db, row.device_key, row.id, secret, proof, now)
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
            raise _revoked(row.revoked_reason)
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

    def _unknown(self, db: Session, session_id: str) -> SessionRejected:
        """Why there is no session with this id: its account was deleted (a tombstone says so),
        else none such (or purged)."""
        tombstone = db.get(SessionTombstoneRow, self._tombstone_name(session_id))
        if tombstone is not None and tombstone.reason == _ACCOUNT_DELETED:
            return AccountDeleted()
        return SessionUnknown()

    def _tombstone_name(self, session_id: str) -> str:
        return keyed_digest(self._tombstone_key, session_id)

    def _use_proof(
        self,
        db: Session,
        device_key: str,
        session_id: str,
        secret: str,
        proof: ProofRequest,
        now: datetime,
    ) -> None:
        """Check the proof for a bound session and spend its `jti`. Two workers given one proof
        at once both insert: the second waits for the first to commit, then fails on the primary
        key."""
        claims = check_proof(
            proof,
            device_key=device_key,
            session_id=session_id,
            secret=secret,
            now=now,
            nonces=self.proof_nonces,
        )
        try:
            with db.begin_nested():
                db.add(ProofNonceRow(jti=claims.jti, expires_at=nonce_expiry(claims)))
        except IntegrityError:
            raise ProofInvalid("replayed") from None

    @contextmanager
    def _transaction(self, db: Session, now: datetime) -> Iterator[None]:
        refused: AuthError | None = None
        try:
            with db.begin():
                try:
                    yield
                except _RefusedAfterUse as after:
                    refused = after.error  # committed all the same: then raised
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
        if refused is not None:
            raise refused

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


def _revoked(reason: str | None) -> SessionRevoked:
    return _REVOKED_BECAUSE.get(reason, SessionRevoked)()


def _lock_user(db: Session, user_row_id: int) -> UserRow | None:
    return db.scalars(select(UserRow).where(UserRow.id == user_row_id).with_for_update()).first()


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
        user_row_id=row.user_id,
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
