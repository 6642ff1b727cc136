"""What the auth routes do, without HTTP (AuthService): plain values in, results out, AuthError on
refusal. A call about an existing session takes the session the request presents
(presented.PresentedSession).

Sign-up, password sign-in, re-authentication and a password change are coroutines: they wait for
the password-hashing pool without holding a thread. Their database work, like every other method
here, is synchronous and runs in a worker thread. Each records its security events in the audit
log (core/audit.py).

A resume and a check of a session (`describe`: `GET /v1/me`, and every caller of messaging and
tokens) try the common case first (fast_paths.py: one statement, no ORM), and take
SessionManager's full path for anything else, which decides every refusal. The routes' resume and
check are coroutines too: on PostgreSQL their common case runs in the event loop, without a
thread (fast_paths.FastPaths.in_loop).

A password given to confirm who the signed-in user is (re-authentication, the current password of
a change) is checked exactly as at sign-in: the same three rate-limit buckets, the same hashing
pool, and a wrong one is a failed attempt.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from authservice.auth.applications import require_application
from authservice.auth.fast_paths import FastPaths
from authservice.auth.passwords import PasswordHasher
from authservice.auth.presented import PresentedSession
from authservice.auth.proofs import ProofNonces, ProofRequest
from authservice.auth.rules import (
    SESSION_ID_PATTERN,
    RuleBroken,
    check_new_password,
    username_key,
)
from authservice.auth.sessions import (
    AccountHolder,
    DeviceSession,
    ForgetUser,
    IssuedSession,
    RevocationHook,
    SessionManager,
    SessionView,
)
from authservice.auth.tickets import TicketClaims, TicketError, read_ticket
from authservice.auth.users import add_user, find_or_add_user, find_user
from authservice.core.audit import AuditEvent, record_event
from authservice.core.clock import utc_now
from authservice.core.errors import (
    InvalidCredentials,
    InvalidRequest,
    InvalidTicket,
    NoSuchSession,
    ProofRefused,
    RateLimited,
    ReauthenticationRequired,
    ServiceBusy,
    SessionRejected,
    SessionReuseDetected,
    UseProofNonce,
    UsernameTaken,
    WrongPassword,
)
from authservice.core.keys import derive_key, keyed_digest
from authservice.core.sealing import SecretSealer
from authservice.core.settings import Settings
from authservice.core.threads import in_thread
from authservice.database.engine import AsyncSingleStatements
from authservice.database.rate_limits import Bucket, RateLimiter, client_network
from authservice.database.tables import ApplicationRow, TicketNonceRow, UserRow

# The field of a password change that holds the new password (its refusal names it).
NEW_PASSWORD_FIELD = "newPassword"

__all__ = ["NEW_PASSWORD_FIELD", "AuthService"]

_SESSION_ID = re.compile(SESSION_ID_PATTERN)


class AuthService:
    """Built once, by the composition root; `on_revoke` is called in every transaction that
    revokes sessions (sessions.RevocationHook), `on_delete_user` in the one that deletes an
    account (sessions.ForgetUser: what other parts hold of the user)."""

    def __init__(
        self,
        settings: Settings,
        database: sessionmaker[Session],
        server_key: bytes,
        *,
        engine: Engine,
        on_revoke: RevocationHook | None = None,
        on_delete_user: ForgetUser | None = None,
        loop_statements: AsyncSingleStatements | None = None,
    ) -> None:
        self.settings = settings
        self._db = database
        self._on_delete_user = on_delete_user
        self._sealer = SecretSealer(server_key)
        self._audit_key = derive_key(server_key, "authservice audit usernames v1")
        self._passwords = PasswordHasher(
            workers=settings.password_hash_workers, queue_limit=settings.password_hash_queue
        )
        self._sessions = SessionManager(
            server_key=server_key,
            session_ttl_s=settings.session_ttl_s,
            idle_ttl_s=settings.idle_ttl_s,
            rotation_grace_s=settings.rotation_grace_s,
            reauth_window_s=settings.reauth_window_s,
            on_revoke=on_revoke,
        )
        self._fast = FastPaths(
            engine,
            server_key=server_key,
            idle_ttl_s=settings.idle_ttl_s,
            nonces=self._sessions.proof_nonces,
            loop_statements=loop_statements,
        )
        self._limiter = RateLimiter(
            key=derive_key(server_key, "authservice rate limit buckets v1"),
            window_s=settings.rate_window_s,
        )

    def __repr__(self) -> str:
        return f"AuthService(passwords={self._passwords!r}, sessions={self._sessions!r})"

    def close(self) -> None:
        self._passwords.close()

    @property
    def proof_nonces(self) -> ProofNonces:
        """What makes the `Session-Proof-Nonce` of each answer to a request with a proof."""
        return self._sessions.proof_nonces

    def session_end(self, db: Session, session_id: str, now: datetime) -> datetime:
        """When the session (by id) ends, in the caller's transaction; its SessionRejected if it
        has ended (a message stream checks it so)."""
        return self._sessions.session_end(db, session_id, now)

    def ended_sessions(
        self, connection: Connection, session_ids: Collection[str], now: datetime
    ) -> set[str]:
        """Which of these sessions (by id) have ended, in one statement on `connection`."""
        return self._sessions.ended_sessions(connection, session_ids, now)

    # -- passwords ------------------------------------------------------------------------

    async def sign_up(
        self, application_key: str, username: str, password: str, client_address: str
    ) -> str:
        """The new user's id (the username as typed)."""
        audit = {"application": application_key, "address": client_address}
        bucket = Bucket(
            "sign_up_address",
            f"sign_up|address|{client_network(client_address)}",
            self.settings.login_attempts_per_ip,
        )
        await in_thread(self._check_sign_up, application_key, username, bucket, audit)
        with self._auditing_busy(audit):
            password_hash = await self._passwords.hash(password)
        await in_thread(self._add_password_user, application_key, username, password_hash)
        record_event(AuditEvent.SIGN_UP, user=username, **audit)
        return username

    async def sign_in_with_password(
        self,
        application_key: str,
        username: str,
        password: str,
        client_address: str,
        device_label: str | None = None,
        *,
        device_key: str | None = None,
    ) -> IssuedSession:
        """A new session; bound to `device_key` (proofs.device_key_json) if one is given. With
        `password_change_required` when the password is one the policy would refuse now (a
        common one, or too short for an account older than the rule)."""
        audit = {
            "application": application_key,
            "user_hash": self._user_hash(username),
            "address": client_address,
        }
        buckets = self._sign_in_buckets(application_key, username, client_address)
        user_id, stored_hash = await in_thread(
            self._start_password_sign_in, application_key, username, buckets, audit
        )
        try:
            with self._auditing_busy(audit):
                check = await self._passwords.check(stored_hash, password)
        except ServiceBusy:
            await in_thread(self._release, buckets)  # not an attempt: it never ran
            raise
        if user_id is None or not check.matched:
            record_event(AuditEvent.SIGN_IN_FAILED, reason=InvalidCredentials.code, **audit)
            raise InvalidCredentials()
        try:
            issued = await in_thread(
                self._finish_password_sign_in,
                user_id,
                buckets,
                stored_hash,
                check.new_hash,
                device_label,
                device_key,
            )
        except InvalidCredentials:  # the password was changed meanwhile
            record_event(AuditEvent.SIGN_IN_FAILED, reason=InvalidCredentials.code, **audit)
            raise
        if _breaks_policy(password, username):
            issued = dataclasses.replace(issued, password_change_required=True)
        self._record_sign_in(issued, "password", client_address)
        return issued

    def _check_sign_up(
        self, application_key: str, username: str, bucket: Bucket, audit: dict[str, str]
    ) -> None:
        with self._db() as db:
            application = self._admit(db, application_key, [bucket], audit, action="sign_up")
            with db.begin():
                if find_user(db, application, username):
                    raise UsernameTaken()

    def _add_password_user(self, application_key: str, username: str, password_hash: str) -> None:
        with self._db() as db, db.begin():
            add_user(db, require_application(db, application_key), username, password_hash)

    def _start_password_sign_in(
        self, application_key: str, username: str, buckets: Sequence[Bucket], audit: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """The user's row id and password hash (None, None for no such user)."""
        with self._db() as db:
            application = self._admit(db, application_key, buckets, audit, action="sign_in")
            with db.begin():
                user = find_user(db, application, username)
                return (user.id, user.password_hash) if user else (None, None)

    def _finish_password_sign_in(
        self,
        user_id: int,
        buckets: Sequence[Bucket],
        checked_hash: str | None,
        new_hash: str | None,
        device_label: str | None,
        device_key: str | None,
    ) -> IssuedSession:
        with self._db() as db, db.begin():
            # Locked before anything else (sessions.SessionManager, "Locks"): a password changed
            # or an account deleted while the password was checked is seen here.
            user = db.scalars(
                select(UserRow).where(UserRow.id == user_id).with_for_update()
            ).first()
            if user is None or user.password_hash != checked_hash:
                raise InvalidCredentials()
            self._limiter.release(db, buckets)  # a sign-in that succeeds does not count
            if new_hash is not None:
                user.password_hash = new_hash
            return self._sessions.start(db, user, utc_now(), device_label, device_key=device_key)

    @contextmanager
    def _auditing_busy(self, audit: dict[str, str]) -> Iterator[None]:
        try:
            yield
        except ServiceBusy:
            record_event(AuditEvent.BUSY, **audit)
            raise

    # -- tickets --------------------------------------------------------------------------

    def sign_in_with_ticket(
        self,
        application_key: str,
        ticket: str,
        client_address: str,
        device_label: str | None = None,
        *,
        device_key: str | None = None,
    ) -> IssuedSession:
        audit = {"application": application_key, "address": client_address}
        buckets = [self._address_bucket(client_address)]
        now = utc_now()
        with self._db() as db:
            application = self._admit(db, application_key, buckets, audit, action="ticket")
            with db.begin():
                try:
                    secret = self._sealer.unseal(application.secret, application.key)
                    claims = read_ticket(ticket, application.key, secret, now=now)
                    _use_nonce(db, application, claims)
                except (TicketError, InvalidTicket) as error:
                    reason = str(error) if isinstance(error, TicketError) else error.message
                    record_event(AuditEvent.TICKET_REFUSED, reason=reason, **audit)
                    raise InvalidTicket(reason) from None
                user = find_or_add_user(db, application, claims.user_id)
                issued = self._sessions.start(db, user, now, device_label, device_key=device_key)
                self._limiter.release(db, buckets)
        self._record_sign_in(issued, "ticket", client_address)
        return issued

    # -- sessions -------------------------------------------------------------------------

    async def resume(
        self, application_key: str, user_id: str, presented: PresentedSession
    ) -> IssuedSession:
        if not self._fast.in_loop():
            return await in_thread(self._resume, application_key, user_id, presented)
        issued = await self._fast.resume_in_loop(application_key, user_id, presented, utc_now())
        if issued is not None:
            return issued
        return await in_thread(self._resume_fully, application_key, user_id, presented)

    def _resume(
        self, application_key: str, user_id: str, presented: PresentedSession
    ) -> IssuedSession:
        issued = self._fast.resume(application_key, user_id, presented, utc_now())
        if issued is not None:
            return issued
        return self._resume_fully(application_key, user_id, presented)

    def _resume_fully(
        self, application_key: str, user_id: str, presented: PresentedSession
    ) -> IssuedSession:
        with self._db() as db, self._auditing_session(presented):
            return self._sessions.resume(
                db,
                application_key=application_key,
                user_id=user_id,
                session_id=presented.session_id,
                secret=presented.session_secret,
                proof=presented.proof,
                now=utc_now(),
            )

    def describe(self, presented: PresentedSession) -> SessionView:
        """The session, once its secret (and, if bound, its proof) is checked: how messaging and
        tokens authenticate their callers, in their threads."""
        view = self._fast.describe(presented, utc_now())
        if view is not None:
            return view
        return self._describe_fully(presented)

    async def describe_in_loop(self, presented: PresentedSession) -> SessionView:
        """`describe`, for a route: what `GET /v1/me` answers."""
        if not self._fast.in_loop():
            return await in_thread(self.describe, presented)
        view = await self._fast.describe_in_loop(presented, utc_now())
        if view is not None:
            return view
        return await in_thread(self._describe_fully, presented)

    def _describe_fully(self, presented: PresentedSession) -> SessionView:
        with self._db() as db, self._auditing_session(presented):
            return self._sessions.describe(db, *_credentials(presented), utc_now())

    def sign_out(self, presented: PresentedSession) -> None:
        with self._db() as db, self._auditing_session(presented):
            view = self._sessions.sign_out(db, *_credentials(presented), utc_now())
        record_event(
            AuditEvent.SIGN_OUT,
            application=view.application_key,
            user=view.user_id,
            session=view.session_id,
            address=presented.client_address,
        )

    def list_sessions(self, presented: PresentedSession) -> list[DeviceSession]:
        with self._db() as db, self._auditing_session(presented):
            return self._sessions.list_sessions(db, *_credentials(presented), utc_now())

    def revoke_session(self, presented: PresentedSession, target_id: str) -> None:
        """Sign one device out: revoke one session of the caller's user (NoSuchSession if it is
        not one of theirs). An id that is not even well-formed is refused without a query."""
        address = presented.client_address
        audit = {"session": presented.session_id, "target": target_id, "address": address}
        session_id, secret, proof = _credentials(presented)
        try:
            with self._db() as db, self._auditing_session(presented):
                if not _SESSION_ID.fullmatch(target_id):
                    # Still authenticate the caller first: 401 comes before 404.
                    self._sessions.describe(db, session_id, secret, proof, utc_now())
                    raise NoSuchSession()
                view, revoked = self._sessions.revoke_session(
                    db, session_id, secret, target_id, proof, utc_now()
                )
        except NoSuchSession:
            record_event(AuditEvent.REVOKE_SESSION, outcome="not_found", **audit)
            raise
        record_event(
            AuditEvent.REVOKE_SESSION,
            application=view.application_key,
            user=view.user_id,
            outcome="revoked" if revoked else "already_ended",
            **audit,
        )

    def revoke_all(self, presented: PresentedSession, *, keep_this_one: bool = False) -> None:
        """Revoke every session of the user (but this one, if `keep_this_one`: signing the other
        devices out). Needs this one recently authenticated."""
        with self._db() as db, self._auditing_session(presented):
            view, revoked = self._sessions.revoke_all(
                db, *_credentials(presented), utc_now(), keep_this_one=keep_this_one
            )
        event = AuditEvent.REVOKE_OTHERS if keep_this_one else AuditEvent.REVOKE_ALL
        record_event(event, revoked=revoked, **_session_audit(view, presented))

    # -- the account ----------------------------------------------------------------------

    async def reauthenticate(self, presented: PresentedSession, password: str) -> None:
        """The user gave their password again in this session: it is recently authenticated
        from now (SessionManager: what cannot be undone needs that). WrongPassword if it is not
        theirs, which counts as a failed sign-in."""
        holder, checked = await self._check_holder_password(
            presented, password, AuditEvent.REAUTHENTICATE_FAILED, action="reauthenticate"
        )
        view = await in_thread(self._mark_authenticated, presented, holder, checked)
        record_event(
            AuditEvent.REAUTHENTICATED,
            application=view.application_key,
            user=view.user_id,
            session=view.session_id,
            address=presented.client_address,
        )

    async def change_password(
        self, presented: PresentedSession, current_password: str, new_password: str
    ) -> IssuedSession:
        """Replace the user's password: `current_password` must be theirs (checked as a sign-in
        is; a wrong one is a failed attempt) and `new_password` must pass the policy of sign-up
        (InvalidRequest naming `newPassword`, with the same sentences). Every other session of
        the user ends (`password_changed`); this one goes on, rotated: the new session object."""
        holder = await in_thread(self._holder, presented)
        try:
            check_new_password(new_password, holder.view.user_id)
        except RuleBroken as broken:
            raise InvalidRequest(str(broken), field=NEW_PASSWORD_FIELD) from None
        holder, checked = await self._check_holder_password(
            presented,
            current_password,
            AuditEvent.PASSWORD_CHANGE_FAILED,
            action="change_password",
            holder=holder,
        )
        audit = _session_audit(holder.view, presented)
        with self._auditing_busy(audit):
            new_hash = await self._passwords.hash(new_password)
        issued, others = await in_thread(
            self._replace_password, presented, holder, checked, new_hash
        )
        record_event(AuditEvent.PASSWORD_CHANGED, revoked=others, **audit)
        return issued

    def delete_account(self, presented: PresentedSession) -> None:
        """Delete the user who holds this session, and everything that names them: every
        session (each leaves a tombstone, so their pages hear `account_deleted`), the rate-limit
        buckets about them, and, through `on_delete_user`, their messaging (their messages stay
        for the others, from no one). Needs the session recently authenticated."""
        with self._db() as db, self._auditing_session(presented):
            view = self._sessions.delete_account(
                db, *_credentials(presented), utc_now(), forget=self._forget_user
            )
        record_event(AuditEvent.ACCOUNT_DELETED, **_session_audit(view, presented))

    async def _check_holder_password(
        self,
        presented: PresentedSession,
        password: str,
        failed: AuditEvent,
        *,
        action: str,
        holder: AccountHolder | None = None,
    ) -> tuple[AccountHolder, str]:
        """The session's holder and the hash their password matched, once `password` is checked
        as a sign-in's is (the same buckets, the hashing pool); WrongPassword otherwise. The
        buckets are released at once if the password matched (a success does not count)."""
        if holder is None:
            holder = await in_thread(self._holder, presented)
        view = holder.view
        audit = _session_audit(view, presented)
        buckets = self._sign_in_buckets(
            view.application_key, view.user_id, presented.client_address
        )
        await in_thread(self._admit_in_a_transaction, view.application_key, buckets, audit, action)
        try:
            with self._auditing_busy(audit):
                check = await self._passwords.check(holder.password_hash, password)
        except ServiceBusy:
            await in_thread(self._release, buckets)  # not an attempt: it never ran
            raise
        if holder.password_hash is None or not check.matched:
            record_event(failed, reason=WrongPassword.code, **audit)
            raise WrongPassword()
        await in_thread(self._release, buckets)
        return holder, holder.password_hash

    def _holder(self, presented: PresentedSession) -> AccountHolder:
        with self._db() as db, self._auditing_session(presented):
            return self._sessions.holder(db, *_credentials(presented), utc_now())

    def _admit_in_a_transaction(
        self, application_key: str, buckets: Sequence[Bucket], audit: dict[str, str], action: str
    ) -> None:
        with self._db() as db:
            self._admit(db, application_key, buckets, audit, action=action)

    def _mark_authenticated(
        self, presented: PresentedSession, holder: AccountHolder, checked_hash: str
    ) -> SessionView:
        with self._db() as db, self._auditing_session(presented), db.begin():
            return self._sessions.mark_authenticated(
                db, presented.session_id, holder.view.user_row_id, checked_hash, None, utc_now()
            )

    def _replace_password(
        self,
        presented: PresentedSession,
        holder: AccountHolder,
        checked_hash: str,
        new_hash: str,
    ) -> tuple[IssuedSession, int]:
        with self._db() as db, self._auditing_session(presented), db.begin():
            return self._sessions.change_password(
                db,
                session_id=presented.session_id,
                secret=presented.session_secret,
                user_row_id=holder.view.user_row_id,
                checked_hash=checked_hash,
                new_hash=new_hash,
                now=utc_now(),
            )

    def _forget_user(self, db: Session, user: UserRow) -> None:
        """What deleting `user` deletes besides their sessions: their sign-in buckets, and what
        the other parts hold (`on_delete_user`)."""
        self._limiter.forget(db, _sign_in_subject(user.application.key, user.username))
        if self._on_delete_user is not None:
            self._on_delete_user(db, user)

    @contextmanager
    def _auditing_session(self, presented: PresentedSession) -> Iterator[None]:
        address = presented.client_address
        try:
            yield
        except SessionReuseDetected as reuse:
            record_event(
                AuditEvent.REUSE_DETECTED,
                application=reuse.application_key,
                user=reuse.user_id,
                session=reuse.session_id,
                generation=reuse.generation,
                current_generation=reuse.current_generation,
                address=address,
            )
            raise
        except (ProofRefused, UseProofNonce) as refused:
            # A proof refused for its time alone (UseProofNonce) is one refused for its clock.
            reason = refused.reason if isinstance(refused, ProofRefused) else "clock"
            record_event(
                AuditEvent.PROOF_REFUSED,
                session=presented.session_id,
                error=refused.code,
                reason=reason,
                address=address,
            )
            raise
        except ReauthenticationRequired:
            record_event(
                AuditEvent.REAUTHENTICATION_REQUIRED, session=presented.session_id, address=address
            )
            raise
        except SessionRejected as refused:
            record_event(
                AuditEvent.SESSION_REFUSED,
                session=presented.session_id,
                reason=refused.code,
                address=address,
            )
            raise

    # -- limits and the audit log ---------------------------------------------------------

    def _admit(
        self,
        db: Session,
        application_key: str,
        buckets: Sequence[Bucket],
        audit: dict[str, str],
        *,
        action: str,
    ) -> ApplicationRow:
        """The application, once an attempt is poured into every bucket. Committed at once, so
        that the attempt counts however what follows ends."""
        with db.begin():
            application = require_application(db, application_key)
            try:
                self._limiter.acquire(db, buckets)
            except RateLimited as limited:
                record_event(
                    AuditEvent.RATE_LIMITED,
                    action=action,
                    scope=limited.scope,
                    retry_after_s=limited.retry_after_s,
                    **audit,
                )
                raise
        return application

    def _release(self, buckets: Sequence[Bucket]) -> None:
        with self._db() as db, db.begin():
            self._limiter.release(db, buckets)

    def _sign_in_buckets(
        self, application_key: str, username: str, client_address: str
    ) -> list[Bucket]:
        user = f"{application_key}|{username_key(username)}"
        network = client_network(client_address)
        subject = _sign_in_subject(application_key, username)
        return [
            Bucket(
                "user_address",
                f"sign_in|user_address|{user}|{network}",
                self.settings.login_attempts_per_user_address,
                subject,
            ),
            Bucket("user", f"sign_in|user|{user}", self.settings.login_attempts_per_user, subject),
            self._address_bucket(client_address),
        ]

    def _address_bucket(self, client_address: str) -> Bucket:
        network = client_network(client_address)
        return Bucket("address", f"sign_in|address|{network}", self.settings.login_attempts_per_ip)

    def _user_hash(self, username: str) -> str:
        return keyed_digest(self._audit_key, username_key(username))[:32]

    def _record_sign_in(self, issued: IssuedSession, method: str, client_address: str) -> None:
        record_event(
            AuditEvent.SIGN_IN_SUCCEEDED,
            method=method,
            application=issued.application_key,
            user=issued.user_id,
            session=issued.session_id,
            address=client_address,
        )


def _breaks_policy(password: str, username: str) -> bool:
    """Whether the policy would refuse this password now (the list of common passwords grew, or
    the account is older than a rule)."""
    try:
        check_new_password(password, username)
    except RuleBroken:
        return True
    return False


def _sign_in_subject(application_key: str, username: str) -> str:
    """Whom a sign-in bucket is about (rate_limits.Bucket.subject)."""
    return f"username|{application_key}|{username_key(username)}"


def _session_audit(view: SessionView, presented: PresentedSession) -> dict[str, str]:
    """Who, in the audit log: the signed-in user and the session, from where."""
    return {
        "application": view.application_key,
        "user": view.user_id,
        "session": view.session_id,
        "address": presented.client_address,
    }


def _credentials(presented: PresentedSession) -> tuple[str, str, ProofRequest]:
    """What SessionManager checks: the id, the secret and the proof."""
    return presented.session_id, presented.session_secret, presented.proof


def _use_nonce(db: Session, application: ApplicationRow, claims: TicketClaims) -> None:
    """Remember the nonce until the ticket expires (database/purge.py forgets it then);
    InvalidTicket if it was used before. Two workers given one ticket at once both insert: the
    second waits for the first to commit, then fails on the primary key."""
    try:
        with db.begin_nested():
            db.add(
                TicketNonceRow(
                    application_id=application.id, nonce=claims.nonce, expires_at=claims.expires_at
                )
            )
    except IntegrityError:
        raise InvalidTicket("The ticket has been used before.") from None
