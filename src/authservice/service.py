"""What the API does, without HTTP: plain values in, results out, AuthError on refusal."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from authservice._time import utc_now
from authservice.applications import find_application
from authservice.db import open_database
from authservice.errors import (
    InvalidCredentials,
    InvalidTicket,
    RateLimited,
    UnknownApplication,
    UsernameTaken,
)
from authservice.keys import load_or_create_server_key
from authservice.models import ApplicationRow, TicketNonceRow
from authservice.passwords import PasswordHasher
from authservice.ratelimit import AttemptLimiter
from authservice.sessions import IssuedSession, SessionManager, SessionView
from authservice.settings import Settings
from authservice.tickets import TicketClaims, TicketError, read_ticket
from authservice.users import add_user, find_or_add_user, find_user

__all__ = ["AuthService"]

_Bucket = tuple[Hashable, int]


class AuthService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = open_database(settings)
        self._db = sessionmaker(self.engine, expire_on_commit=False)
        self._passwords = PasswordHasher()
        self._sessions = SessionManager(
            server_key=settings.server_key or load_or_create_server_key(settings.server_key_path),
            lifetime_s=settings.session_ttl_s,
            idle_s=settings.idle_ttl_s,
            grace_s=settings.rotation_grace_s,
        )
        self._attempts = AttemptLimiter(window_s=settings.rate_window_s)

    def __repr__(self) -> str:
        return f"AuthService(database={self.engine.url!r})"

    def close(self) -> None:
        self.engine.dispose()

    def sign_up(
        self, application_key: str, username: str, password: str, client_address: str
    ) -> str:
        """The new user's id."""
        self._limit((("sign_up", client_address), self.settings.login_attempts_per_ip))
        with self._db() as db:
            with db.begin():
                application = _application(db, application_key)
                if find_user(db, application, username):
                    raise UsernameTaken()
            password_hash = self._passwords.hash(password)  # slow: outside any transaction
            with db.begin():
                add_user(db, application, username, password_hash)
        return username

    def sign_in_with_password(
        self, application_key: str, username: str, password: str, client_address: str
    ) -> IssuedSession:
        buckets = (
            (("user", application_key, username), self.settings.login_attempts_per_user),
            (("address", client_address), self.settings.login_attempts_per_ip),
        )
        self._limit(*buckets)
        with self._db() as db:
            with db.begin():
                user = find_user(db, _application(db, application_key), username)
            stored_hash = user.password_hash if user else None
            # Unknown users take the same path: verify() checks them against a dummy hash.
            verified = self._passwords.verify(stored_hash, password)
            if user is None or not verified:
                raise InvalidCredentials()
            self._attempts.release(*(key for key, _ in buckets))
            with db.begin():
                if stored_hash and self._passwords.needs_rehash(stored_hash):
                    user.password_hash = self._passwords.hash(password)
                return self._sessions.start(db, user, utc_now())

    def sign_in_with_ticket(
        self, application_key: str, ticket: str, client_address: str
    ) -> IssuedSession:
        bucket = (("address", client_address), self.settings.login_attempts_per_ip)
        self._limit(bucket)
        now = utc_now()
        with self._db() as db, db.begin():
            application = _application(db, application_key)
            try:
                claims = read_ticket(ticket, application.key, application.secret, now=now)
            except TicketError as error:
                raise InvalidTicket(str(error)) from None
            _use_nonce(db, application, claims, now)
            user = find_or_add_user(db, application, claims.user_id)
            issued = self._sessions.start(db, user, now)
        self._attempts.release(bucket[0])
        return issued

    def resume(
        self, application_key: str, user_id: str, session_id: str, session_secret: str
    ) -> IssuedSession:
        with self._db() as db:
            with db.begin():
                application = _application(db, application_key)
            return self._sessions.resume(
                db,
                application_id=application.id,
                user_id=user_id,
                session_id=session_id,
                secret=session_secret,
                now=utc_now(),
            )

    def describe(self, session_id: str, session_secret: str) -> SessionView:
        with self._db() as db:
            return self._sessions.describe(db, session_id, session_secret, utc_now())

    def sign_out(self, session_id: str, session_secret: str) -> None:
        with self._db() as db:
            self._sessions.sign_out(db, session_id, session_secret, utc_now())

    def revoke_all(self, session_id: str, session_secret: str) -> None:
        with self._db() as db:
            self._sessions.revoke_all(db, session_id, session_secret, utc_now())

    def _limit(self, *buckets: _Bucket) -> None:
        retry_after_s = self._attempts.try_acquire(*buckets)
        if retry_after_s:
            raise RateLimited(retry_after_s)


def _application(db: Session, application_key: str) -> ApplicationRow:
    application = find_application(db, application_key)
    if application is None:
        raise UnknownApplication()
    return application


def _use_nonce(
    db: Session, application: ApplicationRow, claims: TicketClaims, now: datetime
) -> None:
    """Remember the nonce until the ticket expires; InvalidTicket if it was used before."""
    db.execute(delete(TicketNonceRow).where(TicketNonceRow.expires_at <= now))
    try:
        with db.begin_nested():
            db.add(
                TicketNonceRow(
                    application_id=application.id, nonce=claims.nonce, expires_at=claims.expires_at
                )
            )
    except IntegrityError:
        raise InvalidTicket("The ticket has been used before.") from None
