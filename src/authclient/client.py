"""`SessionClient`: sign in, save the session, resume it on the next visit (the seed's client)."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import protocol
from .credentials import Password, parse_credentials, parse_password
from .errors import (
    AuthError,
    InvalidArgument,
    InvalidStoredSession,
    NetworkError,
    NotSignedIn,
    Rejected,
    ServiceUnavailable,
)
from .events import Callback, Event, EventEmitter
from .proofs import PROOF_HEADER, DeviceSigner, make_proof
from .session import Session
from .storage import MemoryStorage, Storage, storage_key_for
from .transport import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse, Transport, UrllibTransport

__all__ = ["ResumeResult", "SessionClient"]

logger = logging.getLogger("authclient")

Outcome = Literal["resumed", "login_needed", "unreachable"]
SyncOutcome = Literal["signed_out", "adopted", "unchanged", "ignored"]


@dataclass(frozen=True, slots=True)
class ResumeResult:
    """What `resume_stored()` found.

    - "resumed": `session` is the rotated session object (already saved).
    - "login_needed": `reason` is "no_session", "persistence_disabled", "invalid_stored_session"
      (`error.reason` says why), or the server's rejection code ("session_expired", ...).
    - "unreachable": no definite answer; the stored session is kept. `reason` is `error.code`.
    """

    outcome: Outcome
    reason: str | None = None
    session: dict[str, Any] | None = None
    error: AuthError | None = None

    def __repr__(self) -> str:
        user_id = self.session.get("userId") if self.session else None
        return (
            f"ResumeResult(outcome={self.outcome!r}, reason={self.reason!r}, "
            f"user_id={user_id!r}, error={self.error!r})"
        )


class SessionClient:
    """A client of the auth service for one application::

        client = SessionClient("app_123", "https://example.com/v1", storage=MemoryStorage())
        client.start({"username": "alice", "password": "correct horse"})
        ...  # next page load
        result = client.resume_stored()

    With `persist` (the default) every successful `start()` saves the session object to `storage`
    (a `MemoryStorage` unless given) under `storage_key` (`storage_key_for(application_key)`), and
    `resume_stored()` resumes it. With `persist=False` the client never reads or writes `storage`.
    `timeout_s` applies to the default transport (`UrllibTransport`) only; a given `transport`
    keeps its own.

    With a `signer` (authclient.proofs.DeviceSigner) every sign-in binds the session to the
    signer's key, and every use of the session proves possession of it: a copy of the session
    object is then useless anywhere else. Without one, sessions are not bound.
    """

    def __init__(
        self,
        application_key: str,
        auth_url: str,
        *,
        storage: Storage | None = None,
        storage_key: str | None = None,
        persist: bool = True,
        transport: Transport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        signer: DeviceSigner | None = None,
    ) -> None:
        if not isinstance(application_key, str) or not application_key.strip():
            raise InvalidArgument("application_key must be a non-empty string")
        url = urllib.parse.urlsplit(auth_url if isinstance(auth_url, str) else "")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidArgument(f"auth_url must be an absolute http(s) URL, got {auth_url!r}")
        self._application_key = application_key
        self._auth_url = auth_url.rstrip("/")
        self._storage: Storage = storage if storage is not None else MemoryStorage()
        self._storage_key = storage_key or storage_key_for(application_key)
        self._persist = bool(persist)
        self._transport = transport if transport is not None else UrllibTransport(timeout_s)
        self._signer = signer
        self._events = EventEmitter()
        self._session: Session | None = None

    def __repr__(self) -> str:
        return (
            f"SessionClient(application_key={self._application_key!r}, "
            f"auth_url={self._auth_url!r}, "
            f"user_id={self.user_id!r}, storage={self._storage!r}, "
            f"storage_key={self._storage_key!r}, persist={self._persist})"
        )

    @property
    def application_key(self) -> str:
        return self._application_key

    @property
    def auth_url(self) -> str:
        return self._auth_url

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def storage_key(self) -> str:
        return self._storage_key

    @property
    def persist(self) -> bool:
        return self._persist

    @property
    def user_id(self) -> str | None:
        return self._session.user_id if self._session else None

    @property
    def is_signed_in(self) -> bool:
        return self._session is not None

    def on(self, event: Event | None, callback: Callback) -> Callable[[], None]:
        """Call `callback(event, payload)` on `event` (or on every event if None).

        Returns a function that cancels the subscription.
        """
        return self._events.on(event, callback)

    # -- the seed's API ------------------------------------------------------------------

    def start(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        """Sign in with {username, password} or {userTicket}, or resume a session object.

        Returns the session object (saved when `persist`). A resume rotates the secret; the
        rotated object is what is returned and saved. Raises an `AuthError`.
        """
        parsed = parse_credentials(credentials, application_key=self._application_key)
        if isinstance(parsed, Session):
            return self._resume(parsed)
        body: dict[str, Any] = {"applicationKey": self._application_key}
        if isinstance(parsed, Password):
            method = "password"
            body.update(username=parsed.username, password=parsed.password)
        else:
            method = "ticket"
            body.update(userTicket=parsed.ticket)
        if self._signer is not None:
            body["deviceKey"] = self._signer.public_key(create=True)
        response = self._send(self._request("POST", "/sessions", json_body=body))
        session = protocol.read_session(response, 201, self._application_key)
        self._keep(session)
        self._emit(Event.SIGNED_IN, session=session.to_dict(), method=method)
        return session.to_dict()

    def new_user(self, credentials: Mapping[str, Any]) -> dict[str, str]:
        """Create a user from {username, password}. Does not sign in. Returns {userId, username}."""
        parsed = parse_password(credentials)
        body = {
            "applicationKey": self._application_key,
            "username": parsed.username,
            "password": parsed.password,
        }
        return protocol.read_user(self._send(self._request("POST", "/users", json_body=body)))

    def get_session(self) -> dict[str, Any] | None:
        """The current session object, JSON-serialisable (a copy), or None."""
        return self._session.to_dict() if self._session else None

    def who_am_i(self) -> dict[str, Any]:
        """GET /v1/me. A rejection means the session is dead: it is dropped (SESSION_REJECTED)."""
        session = self._require_session()
        try:
            response = self._send(self._session_request("GET", "/me", session))
            return protocol.read_json(response, 200)
        except Rejected as exc:
            self._reject(session, exc)
            raise

    def terminate(self, *, everywhere: bool = False) -> None:
        """Sign out: revoke the session on the server (every session of the user if `everywhere`),
        clear it locally and in storage, emit SIGNED_OUT.

        A rejection means the session was already dead: cleared all the same. If the service
        cannot be reached, raises `ServiceUnavailable` and keeps everything. No session: no-op.
        """
        session = self._session
        if session is None:
            return
        path = "/users/me/sessions" if everywhere else "/sessions/current"
        try:
            response = self._send(self._session_request("DELETE", path, session))
            protocol.read_no_content(response)
        except Rejected as exc:
            logger.info("Signing out a session the server already refused (%s)", exc.code)
        self._sign_out(session, reason="terminate")

    def forget(self) -> None:
        """Drop the session here and in storage, without telling the server."""
        if self._session is None:
            self._remove_stored()
        else:
            self._sign_out(self._session, reason="forget")

    # -- persistence ---------------------------------------------------------------------

    def resume_stored(self) -> ResumeResult:
        """The seed's page-load logic in one call: one attempt, never raises for auth failures.

        Garbage in storage and definite rejections clear it (login_needed); no definite answer
        keeps it (unreachable), so a later retry can still resume.
        """
        if not self._persist:
            return ResumeResult("login_needed", "persistence_disabled")
        raw = self._read_stored()
        if raw is None:
            return ResumeResult("login_needed", "no_session")
        try:
            session = Session.from_json(raw, application_key=self._application_key)
        except InvalidStoredSession as exc:
            logger.warning(
                "Discarded the session stored under %r: %s (%s)",
                self._storage_key,
                exc.message,
                exc.reason,
            )
            self._remove_stored()
            return ResumeResult("login_needed", exc.code, error=exc)
        try:
            resumed = self._resume(session)
        except ServiceUnavailable as exc:
            return ResumeResult("unreachable", exc.code, error=exc)
        except Rejected as exc:
            return ResumeResult("login_needed", exc.code, error=exc)
        return ResumeResult("resumed", session=resumed)

    def sync_from_storage(self) -> SyncOutcome:
        """Follow a change another tab made to the stored session (call it on a storage event).

        - removed: sign out here too (SIGNED_OUT, reason "storage"), no server call: "signed_out";
        - a valid session object not older than ours (rotated or signed in by another tab):
          adopt it (SESSION_UPDATED): "adopted";
        - the same as ours, or nothing to do: "unchanged"; garbage or an older one: "ignored".
        """
        if not self._persist:
            return "ignored"
        raw = self._read_stored()
        current = self._session
        if raw is None:
            if current is None:
                return "unchanged"
            self._session = None
            self._emit(Event.SIGNED_OUT, user_id=current.user_id, reason="storage")
            return "signed_out"
        try:
            stored = Session.from_json(raw, application_key=self._application_key)
        except InvalidStoredSession as exc:
            logger.warning("Ignored a change to %r: %s", self._storage_key, exc.message)
            return "ignored"
        if stored == current:
            return "unchanged"
        if current is not None and stored.is_older_than(current):
            return "ignored"
        self._session = stored
        self._emit(Event.SESSION_UPDATED, session=stored.to_dict(), source="storage")
        return "adopted"

    # -- internals -----------------------------------------------------------------------

    def _resume(self, session: Session) -> dict[str, Any]:
        request = self._session_request(
            "POST", "/sessions/resume", session, json_body=session.resume_body()
        )
        try:
            rotated = protocol.read_session(self._send(request), 200, self._application_key)
        except ServiceUnavailable as exc:
            self._emit(Event.SERVICE_UNREACHABLE, error=exc, code=exc.code)
            raise
        except Rejected as exc:
            self._reject(session, exc)
            raise
        self._keep(rotated)
        self._emit(Event.RESUMED, session=rotated.to_dict())
        return rotated.to_dict()

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        bearer: str | None = None,
    ) -> HttpRequest:
        return protocol.build_request(
            method, self._auth_url, path, json_body=json_body, bearer=bearer
        )

    def _session_request(
        self, method: str, path: str, session: Session, *, json_body: dict[str, Any] | None = None
    ) -> HttpRequest:
        """A request that uses `session`: its secret in `json_body` if given (resume), else as the
        Bearer token; with the proof of the device key, if this client has one."""
        headers = {}
        proof = self._prove(method, path, session)
        if proof is not None:
            headers[PROOF_HEADER] = proof
        bearer = None if json_body is not None else session.bearer_token
        return protocol.build_request(
            method, self._auth_url, path, json_body=json_body, bearer=bearer, headers=headers
        )

    def _prove(self, method: str, path: str, session: Session) -> str | None:
        """The proof of the device key for this request; None without a signer or a key."""
        if self._signer is None:
            return None
        try:
            return make_proof(
                self._signer,
                method,
                self._auth_url + path,
                session.session_id,
                session.session_secret,
            )
        except Exception as exc:  # a key that vanished: the service's answer will say so
            logger.warning(
                "Could not sign a proof of the device key (%s: %s)", type(exc).__name__, exc
            )
            return None

    def _send(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._transport.send(request)
        except AuthError:
            raise
        except Exception as exc:  # a custom transport's own failure: treat as no answer
            logger.warning("The transport failed on %s %s: %s", request.method, request.url, exc)
            raise NetworkError(f"The transport failed: {type(exc).__name__}") from exc

    def _require_session(self) -> Session:
        if self._session is None:
            raise NotSignedIn("Not signed in: call start() first")
        return self._session

    def _keep(self, session: Session) -> None:
        self._session = session
        if not self._persist:
            return
        try:
            self._storage.set_item(self._storage_key, session.to_json())
        except Exception as exc:  # quota, private mode: the session still works for this page
            logger.warning(
                "Could not save the session under %r (%s: %s); keeping it in memory only",
                self._storage_key,
                type(exc).__name__,
                exc,
            )

    def _read_stored(self) -> str | None:
        try:
            return self._storage.get_item(self._storage_key)
        except Exception as exc:
            logger.warning(
                "Could not read %r from storage (%s: %s)",
                self._storage_key,
                type(exc).__name__,
                exc,
            )
            return None

    def _remove_stored(self) -> None:
        if not self._persist:
            return
        try:
            self._storage.remove_item(self._storage_key)
        except Exception as exc:
            logger.warning(
                "Could not remove %r from storage (%s: %s)",
                self._storage_key,
                type(exc).__name__,
                exc,
            )

    def _reject(self, session: Session, error: Rejected) -> None:
        self._session = None
        self._remove_stored()
        self._emit(Event.SESSION_REJECTED, user_id=session.user_id, error=error, code=error.code)

    def _sign_out(self, session: Session, *, reason: str) -> None:
        self._session = None
        self._remove_stored()
        self._emit(Event.SIGNED_OUT, user_id=session.user_id, reason=reason)

    def _emit(self, event: Event, **payload: Any) -> None:
        self._events.emit(event, payload)
