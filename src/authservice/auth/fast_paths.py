"""The common case of a resume and of a session check, each in as few statements as it can: SQLAlchemy
Core, the columns it needs, no ORM.

- A resume with the session's current secret: on PostgreSQL one statement in autocommit (an
  UPDATE ... RETURNING whose WHERE checks all that such a resume checks, the retired secret's
  INSERT in the same statement, a data-modifying WITH); on SQLite the UPDATE and the INSERT in one
  transaction. The new secret is known before the statement: it is derived from the one presented
  (core/keys.py, derive_next_secret). A bound session's resume reads its device key first, checks
  the proof, and spends the proof's `jti` in the same statement as the rotation.
- A check of a session with its current secret (`GET /v1/me`, the Bearer routes): one SELECT
  outside a transaction; for a bound session the proof's `jti` spent in one INSERT; an UPDATE of
  its last use when the one recorded is LAST_USE_STEP old.

Anything else answers None having changed nothing: a refusal of any kind (a proof too), the secret
rotated out last, a proof's `jti` spent before, or a race lost to another resume, a sign-out, a
password change or the account's deletion (their transaction committed first, so the row no longer
matches). The caller then takes SessionManager's full path, which decides and records each of those
as before: every rule stays there, and this module knows only what success looks like.

Concurrency on PostgreSQL is the full path's: the UPDATE locks the session's row, as its
`SELECT ... FOR UPDATE` did, so two resumes of one session queue on it and the second, finding the
secret rotated, goes the full path (the grace window); a password change or an account's deletion
that locks the user and then the sessions either waits for the resume or makes it match nothing.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Executable, String, Table, bindparam, case, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from authservice.auth.presented import PresentedSession
from authservice.auth.proofs import (
    ProofClaims,
    ProofNonces,
    ProofRequest,
    check_proof,
    nonce_expiry,
)
from authservice.auth.sessions import LAST_USE_STEP, IssuedSession, SessionView
from authservice.core.errors import AuthError
from authservice.core.keys import derive_next_secret, hash_secret
from authservice.database.engine import AsyncSingleStatements, SingleStatements, Statements
from authservice.database.tables import (
    ApplicationRow,
    ProofNonceRow,
    RetiredSecretRow,
    SessionRow,
    UserRow,
    UTCDateTime,
)

__all__ = ["FastPaths"]

# The tables themselves (Core), not their ORM classes.
_SESSIONS = cast("Table", SessionRow.__table__)
_USERS = cast("Table", UserRow.__table__)
_APPLICATIONS = cast("Table", ApplicationRow.__table__)
_RETIRED = cast("Table", RetiredSecretRow.__table__)
_NONCES = cast("Table", ProofNonceRow.__table__)

# Typed, so that both drivers get a time as the columns store it (and PostgreSQL a cast).
_NOW = bindparam("now", type_=UTCDateTime())
_HASH = bindparam("hash", type_=String())
_IDLE_END = bindparam("idle_end", type_=UTCDateTime())

# The presented secret is the current one, and the session neither revoked nor expired.
_LIVE_AND_CURRENT = (
    _SESSIONS.c.id == bindparam("session"),
    _SESSIONS.c.secret_hash == _HASH,
    _SESSIONS.c.revoked_at.is_(None),
    _SESSIONS.c.expires_at > _NOW,
    _SESSIONS.c.idle_expires_at > _NOW,
)
# A rotation needs the session bound to the key its proof was checked with, or not bound at all.
_BOUND_AS_CHECKED = _SESSIONS.c.device_key.is_not_distinct_from(bindparam("bound_key"))

_ROTATE = (
    update(_SESSIONS)
    .where(
        *_LIVE_AND_CURRENT,
        _BOUND_AS_CHECKED,
        _SESSIONS.c.user_id
        == select(_USERS.c.id)
        .join(_APPLICATIONS, _APPLICATIONS.c.id == _USERS.c.application_id)
        .where(_APPLICATIONS.c.key == bindparam("key"), _USERS.c.username == bindparam("user"))
        .scalar_subquery(),
    )
    .values(
        generation=_SESSIONS.c.generation + 1,
        secret_hash=bindparam("new_hash", type_=String()),
        rotated_at=_NOW,
        last_used_at=case((_SESSIONS.c.last_used_at > _NOW, _SESSIONS.c.last_used_at), else_=_NOW),
        idle_expires_at=case(
            (_SESSIONS.c.expires_at < _IDLE_END, _SESSIONS.c.expires_at), else_=_IDLE_END
        ),
    )
    .returning(
        _SESSIONS.c.id,
        _SESSIONS.c.generation,
        _SESSIONS.c.user_id,
        _SESSIONS.c.created_at,
        _SESSIONS.c.expires_at,
        _SESSIONS.c.idle_expires_at,
    )
)
_RETIRE = insert(_RETIRED).values(
    session_id=bindparam("session"),
    generation=bindparam("retired_generation"),
    secret_hash=_HASH,
    retired_at=_NOW,
)
_JTI = bindparam("proof_jti", type_=String())
_JTI_EXPIRES = bindparam("proof_expires", type_=UTCDateTime())
# A proof's `jti` spent: a second use of it fails on the primary key.
_SPEND = insert(_NONCES).values(jti=_JTI, expires_at=_JTI_EXPIRES)


def _rotate_and_retire(*, spend: bool) -> Any:
    """PostgreSQL's resume in one statement: the rotation, the retired secret's INSERT fed by what
    it returned, and with `spend` the proof's `jti` spent, if it rotated."""
    rotated = _ROTATE.cte("rotated")
    retired = (
        insert(_RETIRED)
        .from_select(
            ["session_id", "generation", "secret_hash", "retired_at"],
            select(rotated.c.id, rotated.c.generation - 1, _HASH, _NOW),
        )
        .cte("retired")
    )
    statement = select(*rotated.c).add_cte(retired)
    if spend:
        spent = (
            insert(_NONCES)
            .from_select(["jti", "expires_at"], select(_JTI, _JTI_EXPIRES).select_from(rotated))
            .cte("spent")
        )
        statement = statement.add_cte(spent)
    return statement


_ROTATE_AND_RETIRE = _rotate_and_retire(spend=False)
_ROTATE_RETIRE_AND_SPEND = _rotate_and_retire(spend=True)
_DEVICE_KEY = select(_SESSIONS.c.device_key).where(_SESSIONS.c.id == bindparam("session"))

_CHECK = select(
    _APPLICATIONS.c.key,
    _USERS.c.username,
    _SESSIONS.c.user_id,
    _SESSIONS.c.created_at,
    _SESSIONS.c.expires_at,
    _SESSIONS.c.idle_expires_at,
    _SESSIONS.c.last_used_at,
    _SESSIONS.c.device_key,
).where(
    *_LIVE_AND_CURRENT,
    _USERS.c.id == _SESSIONS.c.user_id,
    _APPLICATIONS.c.id == _USERS.c.application_id,
)
# Never backwards: a resume may have recorded a later use meanwhile.
_TOUCH = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session"), _SESSIONS.c.last_used_at < _NOW)
    .values(last_used_at=_NOW)
)


class FastPaths:
    """Built once, beside SessionManager, with the same server key, idle lifetime and proof
    nonces.

    Each path is written once, as a plan: a generator that yields what it needs run (a
    statement, or the rotation) and is sent back the first row of its answer, as psycopg's own
    code shares its logic between its sync and async connections. Two runners carry the plans
    out: in a thread, on SingleStatements (SQLite, and callers already in a thread: messaging and
    tokens check their callers' sessions so); in the server's event loop, on PostgreSQL, on
    AsyncSingleStatements (`in_loop`), for the routes: `POST /v1/sessions/resume` and `GET
    /v1/me`."""

    def __init__(
        self,
        engine: Engine,
        *,
        server_key: bytes,
        idle_ttl_s: float,
        nonces: ProofNonces,
        loop_statements: AsyncSingleStatements | None = None,
    ) -> None:
        self._engine = engine
        self._single = SingleStatements(engine)
        self._loop_statements = loop_statements
        self._one_statement = engine.dialect.name == "postgresql"
        self._server_key = server_key
        self._idle = timedelta(seconds=idle_ttl_s)
        self._nonces = nonces

    def __repr__(self) -> str:
        return f"FastPaths(database={self._engine.dialect.name!r})"

    def in_loop(self) -> bool:
        """Whether `resume_in_loop` and `describe_in_loop` may run here, in this event loop."""
        return self._loop_statements is not None and self._loop_statements.in_this_loop()

    def resume(
        self, application_key: str, user_id: str, presented: PresentedSession, now: datetime
    ) -> IssuedSession | None:
        """The session rotated, if the secret presented is its current one (and the proof right,
        if it is bound) and nothing else stands in the way; None, with nothing changed,
        otherwise."""
        return self._run(self._resume(application_key, user_id, presented, now))

    async def resume_in_loop(
        self, application_key: str, user_id: str, presented: PresentedSession, now: datetime
    ) -> IssuedSession | None:
        """`resume`, in the event loop (`in_loop`)."""
        return await self._run_in_loop(self._resume(application_key, user_id, presented, now))

    def describe(self, presented: PresentedSession, now: datetime) -> SessionView | None:
        """The session, its use recorded (and its proof's `jti` spent, if it is bound), if the
        secret presented is its current one and nothing else stands in the way; None, with
        nothing changed, otherwise."""
        return self._run(self._describe(presented, now))

    async def describe_in_loop(
        self, presented: PresentedSession, now: datetime
    ) -> SessionView | None:
        """`describe`, in the event loop (`in_loop`)."""
        return await self._run_in_loop(self._describe(presented, now))

    def _run(self, plan: _Plan[_T]) -> _T | None:
        with _broken_connection_falls_through(), self._single.statements() as run:
            row = None
            try:
                while True:
                    step = plan.send(row)
                    if isinstance(step, _Rotation):
                        row = self._rotate(run, step)
                    else:
                        row = run.first(*step)
            except StopIteration as done:
                return cast("_T | None", done.value)
            except IntegrityError:  # a proof's `jti` spent before: the full path says so
                return None
        return None

    async def _run_in_loop(self, plan: _Plan[_T]) -> _T | None:
        assert self._loop_statements is not None
        with _broken_connection_falls_through():
            async with self._loop_statements.statements() as run:
                row = None
                try:
                    while True:
                        step = plan.send(row)
                        if isinstance(step, _Rotation):
                            step = _one_statement(step)
                        row = await run.first(*step)
                except StopIteration as done:
                    return cast("_T | None", done.value)
                except IntegrityError:  # as in _run
                    return None
        return None

    def _resume(
        self, application_key: str, user_id: str, presented: PresentedSession, now: datetime
    ) -> _Plan[IssuedSession]:
        session_id, secret, proof = presented.session_id, presented.session_secret, presented.proof
        device_key, claims = None, None
        if proof.proof is not None:  # the session is bound, most likely: its proof first
            found = yield _DEVICE_KEY, {"session": session_id}
            device_key = None if found is None else found.device_key
            if device_key is not None:
                claims = self._checked(proof, device_key, session_id, secret, now)
                if claims is None:
                    return None
        current = derive_next_secret(self._server_key, session_id, secret)
        parameters = {
            "session": session_id,
            "hash": hash_secret(secret),
            "new_hash": hash_secret(current),
            "key": application_key,
            "user": user_id,
            "bound_key": device_key,
            "now": now,
            "idle_end": now + self._idle,
            **_spending(claims),
        }
        row = yield _Rotation(parameters, spend=claims is not None)
        if row is None:
            return None
        return IssuedSession(
            application_key=application_key,
            user_id=user_id,
            session_id=session_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            idle_expires_at=row.idle_expires_at,
            user_row_id=row.user_id,
            device_key=device_key,
            session_secret=current,
        )

    def _describe(self, presented: PresentedSession, now: datetime) -> _Plan[SessionView]:
        session_id, secret, proof = presented.session_id, presented.session_secret, presented.proof
        parameters: dict[str, Any] = {
            "session": session_id,
            "hash": hash_secret(secret),
            "now": now,
        }
        row = yield _CHECK, parameters
        if row is None:
            return None
        if row.device_key is not None:
            claims = self._checked(proof, row.device_key, session_id, secret, now)
            if claims is None:
                return None
            yield _SPEND, _spending(claims)
        if now - row.last_used_at >= LAST_USE_STEP:
            yield _TOUCH, parameters
        return SessionView(
            application_key=row.key,
            user_id=row.username,
            session_id=session_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            idle_expires_at=row.idle_expires_at,
            user_row_id=row.user_id,
            device_key=row.device_key,
        )

    def _rotate(self, run: Statements, rotation: _Rotation) -> Any:
        """What the rotation returned, or None if it matched nothing."""
        if self._one_statement:
            return run.first(*_one_statement(rotation))
        # SQLite: the rotation and the retired secret in one transaction.
        parameters = rotation.parameters
        with run.transaction():
            row = run.first(_ROTATE, parameters)
            if row is not None:
                run.first(_RETIRE, {**parameters, "retired_generation": row.generation - 1})
                if rotation.spend:
                    run.first(_SPEND, parameters)
        return row

    def _checked(
        self, proof: ProofRequest, device_key: str, session_id: str, secret: str, now: datetime
    ) -> ProofClaims | None:
        """The proof's claims if it is right for the session's key; None otherwise."""
        try:
            return check_proof(
                proof,
                device_key=device_key,
                session_id=session_id,
                secret=secret,
                now=now,
                nonces=self._nonces,
            )
        except AuthError:
            return None


_T = TypeVar("_T")


@dataclass(frozen=True)
class _Rotation:
    """A plan's step: rotate the session (and spend the proof's `jti`), retiring its secret."""

    parameters: dict[str, Any]
    spend: bool


# What a plan yields (a statement and its parameters, or the rotation), what it is sent back (the
# first row of the answer, or None), and what it returns (None: the full path decides).
_Plan = Generator["tuple[Executable, dict[str, Any]] | _Rotation", Any, "_T | None"]


def _one_statement(rotation: _Rotation) -> tuple[Executable, dict[str, Any]]:
    """PostgreSQL's rotation: one statement."""
    statement = _ROTATE_RETIRE_AND_SPEND if rotation.spend else _ROTATE_AND_RETIRE
    return statement, rotation.parameters


def _spending(claims: ProofClaims | None) -> dict[str, Any]:
    """The parameters that spend a proof's `jti`."""
    if claims is None:
        return {}
    return {"proof_jti": claims.jti, "proof_expires": nonce_expiry(claims)}


@contextmanager
def _broken_connection_falls_through() -> Iterator[None]:
    """A pooled connection that broke under a statement (its server ended it a moment before, too
    late for the pool's check as it was taken: database/engine.py) is thrown away, and the request
    takes the full path on another one instead of failing: the one retry that replaces a liveness
    ping. Had the statement been carried out before the connection broke, the full path finds
    what it did (a rotated secret within the grace window, a spent proof)."""
    try:
        yield
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
