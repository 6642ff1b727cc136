"""What the auth routes do, without HTTP (AuthService): plain values in, results out, AuthError on
refusal. A call about an existing session takes the session the request presents
(presented.PresentedSession).

Sign-up and password sign-in are coroutines: they wait for the password-hashing pool without
holding a thread. Their database work, like every other method here, is synchronous and runs in
a worker thread. Each records its security events in the audit log (core/audit.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from anyio import to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from authservice.auth.applications import require_application
from authservice.auth.passwords import PasswordHasher
from authservice.auth.presented import PresentedSession
from authservice.auth.proofs import ProofRequest
from authservice.auth.rules import SESSION_ID_PATTERN, username_key
from authservice.auth.sessions import (
    DeviceSession,
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
    InvalidTicket,
    NoSuchSession,
    ProofRefused,
    RateLimited,
    ServiceBusy,
    SessionRejected,
    SessionReuseDetected,
    UsernameTaken,
)
from authservice.core.keys import derive_key, keyed_digest
from authservice.core.sealing import SecretSealer
from authservice.core.settings import Settings
from authservice.database.rate_limits import Bucket, RateLimiter, client_network
from authservice.database.tables import ApplicationRow, TicketNonceRow, UserRow

__all__ = ["AuthService"]

_SESSION_ID = re.compile(SESSION_ID_PATTERN)


class AuthService:
    """Built once, by the composition root; `on_revoke` is called in every transaction that
    revokes sessions (sessions.RevocationHook)."""

    def __init__(
        self,
        settings: Settings,
        database: sessionmaker[Session],
        server_key: bytes,
        *,
        on_revoke: RevocationHook | None = None,
    ) -> None:
        self.settings = settings
        self._db = database
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
            on_revoke=on_revoke,
        )
        self._limiter = RateLimiter(
            key=derive_key(server_key, "authservice rate limit buckets v1"),
            window_s=settings.rate_window_s,
        )

    def __repr__(self) -> str:
        return f"AuthService(passwords={self._passwords!r}, sessions={self._sessions!r})"

    def close(self) -> None:
        self._passwords.close()

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
        await to_thread.run_sync(self._check_sign_up, application_key, username, bucket, audit)
        with self._auditing_busy(audit):
            password_hash = await self._passwords.hash(password)
        await to_thread.run_sync(self._add_password_user, application_key, username, password_hash)
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
        """A new session; bound to `device_key` (proofs.device_key_json) if one is given."""
        audit = {
            "application": application_key,
            "user_hash": self._user_hash(username),
            "address": client_address,
        }
        buckets = self._sign_in_buckets(application_key, username, client_address)
        user_id, stored_hash = await to_thread.run_sync(
            self._start_password_sign_in, application_key, username, buckets, audit
        )
        try:
            with self._auditing_busy(audit):
                check = await self._passwords.check(stored_hash, password)
        except ServiceBusy:
            await to_thread.run_sync(self._release, buckets)  # not an attempt: it never ran
            raise
        if user_id is None or not check.matched:
            record_event(AuditEvent.SIGN_IN_FAILED, reason=InvalidCredentials.code, **audit)
            raise InvalidCredentials()
        issued = await to_thread.run_sync(
            self._finish_password_sign_in,
            user_id,
            buckets,
            check.new_hash,
            device_label,
            device_key,
        )
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
        new_hash: str | None,
        device_label: str | None,
        device_key: str | None,
    ) -> IssuedSession:
        with self._db() as db, db.begin():
            self._limiter.release(db, buckets)  # a sign-in that succeeds does not count
            user = db.get_one(UserRow, user_id)
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

    def resume(
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
        """The session, once its secret (and, if bound, its proof) is checked: what `GET /v1/me`
        answers, and how messaging authenticates its callers."""
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

    def revoke_all(self, presented: PresentedSession) -> None:
        with self._db() as db, self._auditing_session(presented):
            view, revoked = self._sessions.revoke_all(db, *_credentials(presented), utc_now())
        record_event(
            AuditEvent.REVOKE_ALL,
            application=view.application_key,
            user=view.user_id,
            session=view.session_id,
            revoked=revoked,
            address=presented.client_address,
        )

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
        except ProofRefused as refused:
            record_event(
                AuditEvent.PROOF_REFUSED,
                session=presented.session_id,
                error=refused.code,
                reason=refused.reason,
                address=address,
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
        return [
            Bucket(
                "user_address",
                f"sign_in|user_address|{user}|{network}",
                self.settings.login_attempts_per_user_address,
            ),
            Bucket("user", f"sign_in|user|{user}", self.settings.login_attempts_per_user),
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
