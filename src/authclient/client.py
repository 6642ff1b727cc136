"""`SessionClient`: sign in, save the session, resume it on the next visit (the seed's client)."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from . import protocol
from .access_tokens import (
    REFRESH_BEFORE_S,
    AccessToken,
    access_tokens_key,
    read_stored_tokens,
    refresh_jitter_s,
    write_stored_tokens,
)
from .credentials import Password, parse_credentials, parse_password
from .errors import (
    AuthError,
    InvalidArgument,
    InvalidStoredSession,
    NetworkError,
    NotSignedIn,
    ReauthenticationRequired,
    Rejected,
    ServiceUnavailable,
    SessionRejected,
    UnexpectedResponse,
)
from .events import Callback, Event, EventEmitter
from .keepalive import KeepAlive, KeepAliveOutcome, KeepAlivePlan, KeepAliveResult, utc_now
from .proofs import NONCE_HEADER, PROOF_HEADER, DeviceSigner, make_dpop_proof, make_proof
from .revocation import Revocation, pending_revocations_key
from .session import Session
from .storage import MemoryStorage, Storage, storage_key_for
from .transport import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse, Transport, UrllibTransport

__all__ = ["ResumeResult", "RevocationOutcome", "SessionClient", "SignOutOutcome"]

logger = logging.getLogger("authclient")

Outcome = Literal["resumed", "login_needed", "unreachable"]
SyncOutcome = Literal["signed_out", "adopted", "unchanged", "ignored"]
# "revoked": the service confirmed (or said the session had ended already); "pending": it could
# not be told, and the revocation waits in storage.
SignOutOutcome = Literal["revoked", "pending", "not_signed_in"]
RevocationOutcome = Literal["revoked", "pending", "none"]
# How long the keep-alive waits before it asks again for a token it could not get.
TOKEN_RETRY_S = 10.0


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

    With `persist` (the default) every successful `start()` saves the session object under
    `storage_key` (`storage_key_for(application_key)`): in `storage` (a page's localStorage, kept
    when the browser closes) or, with `start(..., keep_signed_in=False)`, in `tab_storage` (a
    page's sessionStorage, gone with the tab; by default memory, gone with this client).
    `resume_stored()` looks in `tab_storage` first, then in `storage`, and keeps a resumed
    session where it found it. With `persist=False` the client never reads or writes either.
    `timeout_s` applies to the default transport (`UrllibTransport`) only; a given `transport`
    keeps its own. `keep_alive` says when `keep_session_alive()` refreshes.

    With a `signer` (authclient.proofs.DeviceSigner) every sign-in binds the session to the
    signer's key, and every use of the session proves possession of it: a copy of the session
    object is then useless anywhere else. Without one, sessions are not bound. The proofs take
    their time from `clock_s` (Unix seconds; default `time.time`), and carry the last
    `Session-Proof-Nonce` the service sent (kept in memory), so that a device whose clock is far
    off is judged by the service's clock.

    Signing the other devices out, signing out everywhere, ending another device's session and
    deleting the account need a recent authentication: a sign-in with the password (or a ticket)
    or `reauthenticate(password)` within the service's window (5 minutes by default); otherwise
    `ReauthenticationRequired`, and nothing changed.
    """

    def __init__(
        self,
        application_key: str,
        auth_url: str,
        *,
        storage: Storage | None = None,
        tab_storage: Storage | None = None,
        storage_key: str | None = None,
        persist: bool = True,
        transport: Transport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        keep_alive: KeepAlive | None = None,
        signer: DeviceSigner | None = None,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(application_key, str) or not application_key.strip():
            raise InvalidArgument("application_key must be a non-empty string")
        url = urllib.parse.urlsplit(auth_url if isinstance(auth_url, str) else "")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidArgument(f"auth_url must be an absolute http(s) URL, got {auth_url!r}")
        self._application_key = application_key
        self._auth_url = auth_url.rstrip("/")
        self._storage: Storage = storage if storage is not None else MemoryStorage()
        self._tab_storage: Storage = tab_storage if tab_storage is not None else MemoryStorage()
        self._storage_key = storage_key or storage_key_for(application_key)
        self._persist = bool(persist)
        # Where this client keeps things: with persist=False, its own memory only (even a sign-out
        # that waits for the service waits there).
        self._lasting = self._storage if self._persist else MemoryStorage()
        self._per_tab = self._tab_storage if self._persist else self._lasting
        # Where a sign-out waits when storage refuses it (full, blocked): this client's memory.
        self._unsaved = MemoryStorage()
        self._transport = transport if transport is not None else UrllibTransport(timeout_s)
        self._keep_alive = keep_alive if keep_alive is not None else KeepAlive()
        self._signer = signer
        self._clock_s = clock_s
        self._proof_nonce: str | None = None  # the last one the service sent
        self._password_change_required = False
        self._events = EventEmitter()
        self._session: Session | None = None
        self._place: Storage = self._lasting  # where the current session is kept
        self._saved = False  # whether the current session is in storage
        self._plan: KeepAlivePlan | None = None
        self._warned = False
        self._initial_emitted = False
        # The current session's access tokens, by audience (None: the application itself).
        self._tokens: dict[str | None, AccessToken] = {}
        self._token_retry_at: dict[str | None, datetime] = {}
        self._token_jitter_s = refresh_jitter_s()

    def __repr__(self) -> str:
        return (
            f"SessionClient(application_key={self._application_key!r}, "
            f"auth_url={self._auth_url!r}, "
            f"user_id={self.user_id!r}, storage={self._storage!r}, "
            f"tab_storage={self._tab_storage!r}, "
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
    def tab_storage(self) -> Storage:
        return self._tab_storage

    @property
    def storage_key(self) -> str:
        return self._storage_key

    @property
    def persist(self) -> bool:
        return self._persist

    @property
    def access_tokens_key(self) -> str:
        """Where this client shares its access tokens with other tabs (access_tokens.py)."""
        return access_tokens_key(self._storage_key)

    @property
    def user_id(self) -> str | None:
        return self._session.user_id if self._session else None

    @property
    def is_signed_in(self) -> bool:
        return self._session is not None

    @property
    def password_change_required(self) -> bool:
        """True after a password sign-in with a password the service's policy now refuses (one of
        the most common): ask for a new one (`change_password`) before anything else. Never
        stored: it holds for this sign-in, until the password is changed or the session ends."""
        return self._password_change_required and self._session is not None

    def on(self, event: Event | None, callback: Callback) -> Callable[[], None]:
        """Call `callback(event, payload)` on `event` (or on every event if None).

        Returns a function that cancels the subscription.
        """
        return self._events.on(event, callback)

    # -- the seed's API ------------------------------------------------------------------

    def start(
        self, credentials: Mapping[str, Any], *, keep_signed_in: bool = True
    ) -> dict[str, Any]:
        """Sign in with {username, password} or {userTicket}, or resume a session object.

        Returns the session object, saved when `persist`: in `storage` if `keep_signed_in`, else
        in `tab_storage`. A resume rotates the secret; the rotated object is what is returned and
        saved. Raises an `AuthError`.
        """
        place = self._lasting if keep_signed_in else self._per_tab
        parsed = parse_credentials(credentials, application_key=self._application_key)
        if isinstance(parsed, Session):
            return self._resume(parsed, place)
        body: dict[str, Any] = {"applicationKey": self._application_key}
        if isinstance(parsed, Password):
            method = "password"
            body.update(username=parsed.username, password=parsed.password)
        else:
            method = "ticket"
            body.update(userTicket=parsed.ticket)
        device_key = self._device_key()
        if device_key is not None:
            body["deviceKey"] = device_key
        response = self._send(self._request("POST", "/sessions", json_body=body))
        self._note_nonce(response)
        session = protocol.read_session(response, 201, self._application_key)
        change_required = protocol.read_json(response, 201).get("passwordChangeRequired") is True
        self._keep(session, place)
        self._password_change_required = change_required
        payload: dict[str, Any] = {"session": session.to_dict(), "method": method}
        if change_required:
            payload["password_change_required"] = True
        self._emit(Event.SIGNED_IN, **payload)
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
        return protocol.read_json(self.session_call("GET", "/me"), 200)

    def terminate(self, *, everywhere: bool = False) -> SignOutOutcome:
        """Sign out, offline first: at once, whatever the network does, forget the session here
        and in storage and emit SIGNED_OUT; then tell the service (revoke every session of the
        user if `everywhere`).

        Returns "revoked" when the service confirmed, or said the session had ended already.
        Returns "pending" when it could not be told: the revocation then waits in storage under
        its own key (`pending_revocations_key(storage_key)`), holding only the session's id and
        secret, until `send_pending_revocations()` gets an answer. A session that this page
        never resumed (the service was unreachable) is signed out from storage the same way.
        "not_signed_in": there was no session, here or in storage.
        """
        if self._session is not None:
            self.sync_from_storage()  # the newest secret: a rotated-out one would not revoke all
        held = self._held_or_stored()
        if held is None:
            return "not_signed_in"
        session, place = held
        revocation = Revocation(session.session_id, session.session_secret, everywhere)
        settled = None
        if everywhere and self._session is not None:
            # Asked first: the service may want the password again (ReauthenticationRequired,
            # raised with nothing changed here). Unreachable: signed out here all the same.
            settled = self._settle(revocation, asking=True)
        if not settled:
            # Saved before anything is sent: a page closed during the request still revokes.
            self._update_pending(place, add=[revocation])
        self._sign_out(session, place, reason="terminate")
        if settled is None:
            settled = self._settle(revocation)
        if not settled:
            return "pending"
        for kept_in in (place, self._unsaved):
            self._update_pending(kept_in, remove=[revocation])
        self.send_pending_revocations()  # any older ones, now that the service answers
        return "revoked"

    def send_pending_revocations(self) -> RevocationOutcome:
        """Tell the service of the sign-outs waiting in storage (see `terminate()`): call it on
        each page load, when the browser comes back online, and from time to time.

        "revoked": the service confirmed every one (or said the session had ended already: then
        it is moot); "pending": it could not be reached, and they wait; "none": none waited.
        """
        outcome: RevocationOutcome = "none"
        for place in self._places():
            raw = self._get(place, self._pending_key)
            waiting = Revocation.read_all(raw)
            if raw is not None and not waiting:
                self._remove(place, self._pending_key)  # nothing readable: nothing to send
            done: list[Revocation] = []
            for revocation in waiting:
                if not self._settle(revocation):
                    break  # the service cannot be reached: the rest wait too
                done.append(revocation)
            self._update_pending(place, remove=done)
            if len(done) < len(waiting):
                outcome = "pending"
            elif done and outcome == "none":
                outcome = "revoked"
        return outcome

    def _settle(self, revocation: Revocation, *, asking: bool = False) -> bool:
        """Send one revocation; True once the service has answered for good. A sign-out
        everywhere that needs a recent authentication raises it when `asking` (the session is
        still here); else, it is too late to ask, and this session alone is revoked."""
        try:
            protocol.read_no_content(self._send_with_session("DELETE", revocation.path, revocation))
        except ReauthenticationRequired:
            if asking:
                raise
            logger.info("A sign-out everywhere needed the password again: this session only")
            return self._settle(Revocation(revocation.session_id, revocation.session_secret))
        except Rejected as exc:
            logger.info("A sign-out was moot: the service said %s", exc.code)
        except ServiceUnavailable as exc:
            logger.info("A sign-out waits for the service (%s)", exc.code)
            return False
        return True

    def forget(self) -> None:
        """Drop the session here and in storage, without telling the server."""
        if self._session is None:
            for place in self._places():
                self._remove(place, self._storage_key)
        else:
            self._sign_out(self._session, self._place, reason="forget")

    # -- your devices --------------------------------------------------------------------

    def list_sessions(self) -> list[dict[str, Any]]:
        """The devices where the user is signed in: their live sessions, the most recently used
        first, each {sessionId, device, createdAt, lastUsedAt, current}. Never a secret."""
        return protocol.read_session_list(self.session_call("GET", "/users/me/sessions"))

    def revoke_session(self, session_id: str) -> None:
        """Sign another device out: revoke that session of the user (one of `list_sessions()`).

        `NoSuchSession` if the user has no session with that id. This device's own id signs
        this device out, as `terminate()` does.
        """
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgument("session_id must be a non-empty string")
        if self._session is not None and session_id == self._session.session_id:
            self.terminate()
            return
        path = "/users/me/sessions/" + urllib.parse.quote(session_id, safe="")
        self.session_call("DELETE", path)

    def sign_out_others(self) -> None:
        """Sign every other device out (revoke every session of the user but this one); this one
        goes on. Needs a recent authentication. Emits OTHERS_SIGNED_OUT."""
        session = self._require_session()
        self.session_call("DELETE", "/users/me/sessions/others")
        self._emit(Event.OTHERS_SIGNED_OUT, user_id=session.user_id)

    # -- the account ---------------------------------------------------------------------

    def reauthenticate(self, password: str) -> None:
        """Give the password again: this session counts as recently authenticated from now
        (what cannot be undone needs it). `WrongPassword` if it is not the user's (a failed
        attempt, as at sign-in). Emits REAUTHENTICATED."""
        if not isinstance(password, str) or not password:
            raise InvalidArgument("password must be a non-empty string")
        session = self._require_session()
        self.session_call("POST", "/sessions/current/reauthenticate", {"password": password})
        self._emit(Event.REAUTHENTICATED, user_id=session.user_id)

    def change_password(self, current_password: str, new_password: str) -> dict[str, Any]:
        """Replace the user's password: every other session of the user ends (their pages hear
        `password_changed`); this one goes on, rotated, and counts as recently authenticated.
        Returns the rotated session object (saved where this one was). `WrongPassword` if
        `current_password` is not the user's; `InvalidRequest` (field "newPassword") if the new
        one breaks the policy of sign-up. Emits PASSWORD_CHANGED."""
        for name, value in (("current_password", current_password), ("new_password", new_password)):
            if not isinstance(value, str) or not value:
                raise InvalidArgument(f"{name} must be a non-empty string")
        body = {"currentPassword": current_password, "newPassword": new_password}
        response = self.session_call("POST", "/users/me/password", body)
        session = protocol.read_session(response, 200, self._application_key)
        self._keep(session, self._place)
        self._password_change_required = False
        self._emit(Event.PASSWORD_CHANGED, session=session.to_dict())
        return session.to_dict()

    def delete_account(self) -> None:
        """Delete the user's account, with every session and device, and everything of theirs
        that names them; what they wrote stays for the others, from "a deleted account". Needs
        a recent authentication. The session is gone here too: SIGNED_OUT, reason
        "account_deleted"."""
        session = self._require_session()
        self.session_call("DELETE", "/users/me")
        self._sign_out(session, self._place, reason="account_deleted")

    # -- access tokens for the application's own backend ----------------------------------

    def get_access_token(self, audience: str | None = None) -> AccessToken:
        """A valid access token of this session for `audience` (an audience the application
        registered; None: the application itself): the one held, while it has more than
        `access_tokens.MIN_LIFE_S` left, else one another tab saved, else a new one from the
        service (TOKEN_REFRESHED). NotSignedIn without a session; a refusal of the session
        drops it (SESSION_REJECTED)."""
        self.sync_from_storage()
        self._require_session()
        now = utc_now()
        held = self._tokens.get(audience)
        if held is not None and held.usable_at(now):
            return held
        self.sync_access_tokens()
        adopted = self._tokens.get(audience)
        if adopted is not None and adopted.usable_at(now):
            return adopted
        return self._fetch_token(audience)

    def make_dpop_proof(self, method: str, url: str, token: AccessToken | str) -> str | None:
        """The `DPoP` header for one request to the application's backend with a device-bound
        token (`token_type` "DPoP"), signed by this client's device key; None without a key."""
        if self._signer is None:
            return None
        value = token.token if isinstance(token, AccessToken) else token
        try:
            return make_dpop_proof(self._signer, method, url, value)
        except Exception as exc:  # a key that vanished: the backend's answer will say so
            logger.warning("Could not sign a DPoP proof (%s: %s)", type(exc).__name__, exc)
            return None

    def sync_access_tokens(self) -> int:
        """Take the tokens another tab got for this session from storage (call it on a storage
        event of `access_tokens_key`), where they last longer than the ones held; how many."""
        session = self._session
        if session is None or not self._persist:
            return 0
        stored = read_stored_tokens(
            self._get(self._place, self.access_tokens_key), session.session_id
        )
        adopted = 0
        for token in stored:
            held = self._tokens.get(token.audience)
            if held is None or token.expires_at > held.expires_at:
                self._tokens[token.audience] = token
                self._token_retry_at.pop(token.audience, None)
                self._emit_token(token, "storage")
                adopted += 1
        return adopted

    def _fetch_token(self, audience: str | None) -> AccessToken:
        body = None if audience is None else {"audience": audience}
        response = self.session_call("POST", "/tokens", json_body=body)
        token = AccessToken.from_answer(protocol.read_json(response, 200), audience, utc_now())
        if token is None:
            raise UnexpectedResponse("The service answered with a malformed access token")
        self._tokens[audience] = token
        self._token_retry_at.pop(audience, None)
        self._save_tokens()
        self._emit_token(token, "service")
        return token

    def _save_tokens(self) -> None:
        """Write the tokens held into storage, beside those other tabs keep there for this
        session (the later of two for one audience)."""
        session = self._session
        if session is None or not self._persist:
            return
        key = self.access_tokens_key
        merged = {
            each.audience: each
            for each in read_stored_tokens(self._get(self._place, key), session.session_id)
        }
        for audience, token in self._tokens.items():
            if audience not in merged or token.expires_at > merged[audience].expires_at:
                merged[audience] = token
        try:
            self._place.set_item(key, write_stored_tokens(session.session_id, merged.values()))
        except Exception as exc:  # quota, private mode: the tokens still work for this page
            logger.warning("Could not save the access tokens (%s: %s)", type(exc).__name__, exc)

    def _refresh_due_tokens(self, now: datetime) -> KeepAliveResult | None:
        """Get new tokens for those about to expire (the keep-alive's share of the work); a
        result only when the session ended meanwhile."""
        for audience in list(self._tokens):
            token = self._tokens[audience]
            if token.expires_at <= now:
                del self._tokens[audience]  # not refreshed in time: asked for again when needed
                continue
            if now < self._token_refresh_at(token) or now < self._token_retry_at.get(audience, now):
                continue
            self.sync_access_tokens()  # another tab may have got one just now
            if self._session is None or now < self._token_refresh_at(self._tokens[audience]):
                continue
            try:
                self._fetch_token(audience)
            except ServiceUnavailable as exc:
                logger.info("No new access token for now (%s)", exc.code)
                self._token_retry_at[audience] = now + timedelta(seconds=TOKEN_RETRY_S)
            except SessionRejected as exc:
                return KeepAliveResult("rejected", error=exc)
            except NotSignedIn:
                return KeepAliveResult("signed_out")
            except Rejected as exc:  # an audience no longer registered: stop asking
                logger.warning("The service refused an access token (%s)", exc.code)
                del self._tokens[audience]
        return None

    def _token_refresh_at(self, token: AccessToken) -> datetime:
        return token.expires_at - timedelta(seconds=REFRESH_BEFORE_S + self._token_jitter_s)

    def _next_token_check(self, now: datetime) -> datetime | None:
        moments = []
        for audience, token in self._tokens.items():
            due = max(self._token_refresh_at(token), self._token_retry_at.get(audience, now))
            moments.append(due if due > now else token.expires_at)
        later = [moment for moment in moments if moment > now]
        return min(later) if later else None

    def _emit_token(self, token: AccessToken, source: str) -> None:
        self._emit(
            Event.TOKEN_REFRESHED,
            audience=token.audience,
            token_type=token.token_type,
            token_expires_at=token.expires_at.isoformat().replace("+00:00", "Z"),
            source=source,
        )

    # -- persistence ---------------------------------------------------------------------

    def resume_stored(self) -> ResumeResult:
        """The seed's page-load logic in one call: one attempt, never raises for auth failures.

        Garbage in storage and definite rejections clear it (login_needed); no definite answer
        keeps it (unreachable), so a later retry can still resume. The first call emits
        INITIAL_SESSION once it has settled, whatever the outcome.
        """
        result = self._resume_stored()
        if not self._initial_emitted:
            self._initial_emitted = True
            self._emit(
                Event.INITIAL_SESSION,
                signed_in=result.outcome == "resumed",
                outcome=result.outcome,
                reason=result.reason,
                session=result.session,
                user_id=self.user_id,
            )
        return result

    def sync_from_storage(self) -> SyncOutcome:
        """Follow a change another tab made to the stored session (call it on a storage event).

        - removed: sign out here too (SIGNED_OUT, reason "storage"), no server call: "signed_out";
        - a valid session object not older than ours (rotated or signed in by another tab):
          adopt it (SESSION_UPDATED): "adopted";
        - the same as ours, or nothing to do: "unchanged"; garbage or an older one: "ignored".
        """
        if not self._persist:
            return "ignored"
        raw, place = self._read_stored()
        current = self._session
        if raw is None:
            # A session that could not be saved (storage full or blocked) was not removed by
            # another tab: it was never there.
            if current is None or not self._saved:
                return "unchanged"
            self._clear_session()
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
        self._set_session(stored, place)
        self._emit(Event.SESSION_UPDATED, session=stored.to_dict(), source="storage")
        return "adopted"

    # -- keep-alive ----------------------------------------------------------------------

    def keep_session_alive(self, now: datetime | None = None) -> KeepAliveResult:
        """Do what the session needs at `now` (default: this moment), while a page stays open:
        refresh it when due (see `authclient.keepalive`), or emit SESSION_EXPIRING, once, when
        its end nears. Call it again after `next_check_s` seconds, and when the page becomes
        visible or the browser comes back online; after "unreachable", back off.
        """
        if self._plan is None:
            return KeepAliveResult("not_signed_in")
        now = now or utc_now()
        step = self._plan.step(now)
        if step == "refresh":
            result = self.refresh_session(now)
            if result.outcome in ("refreshed", "adopted", "unreachable"):
                return self._refresh_due_tokens(now) or result
            return result
        ended = self._refresh_due_tokens(now)
        if ended is not None:
            return ended
        outcome: KeepAliveOutcome = "waiting"
        if step == "warn" and not self._warned and self._session is not None:
            self._warned = True
            self._emit(
                Event.SESSION_EXPIRING,
                user_id=self._session.user_id,
                ends_at=self._plan.ends_at.isoformat().replace("+00:00", "Z"),
                refreshable=self._plan.refreshable,
            )
            outcome = "warned"
        return self._keep_alive_result(outcome, now)

    def refresh_session(self, now: datetime | None = None) -> KeepAliveResult:
        """Rotate the session now (POST /sessions/resume), unless another tab already did: the
        stored session is read again first, and a newer one is adopted instead of sending
        anything. Emits REFRESHED; a rejection drops the session (SESSION_REJECTED)."""
        if self._session is None:
            return KeepAliveResult("not_signed_in")
        synced = self.sync_from_storage()
        if synced in ("signed_out", "adopted"):
            return self._keep_alive_result(synced, now)
        session = self._require_session()
        try:
            self._resume(session, self._place, event=Event.REFRESHED)
        except ServiceUnavailable as exc:
            return self._keep_alive_result("unreachable", now, exc)
        except Rejected as exc:
            return KeepAliveResult("rejected", error=exc)
        return self._keep_alive_result("refreshed", now)

    # -- internals -----------------------------------------------------------------------

    def _resume_stored(self) -> ResumeResult:
        if not self._persist:
            return ResumeResult("login_needed", "persistence_disabled")
        raw, place = self._read_stored()
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
            self._remove(place, self._storage_key)
            return ResumeResult("login_needed", exc.code, error=exc)
        try:
            resumed = self._resume(session, place)
        except ServiceUnavailable as exc:
            return ResumeResult("unreachable", exc.code, error=exc)
        except Rejected as exc:
            return ResumeResult("login_needed", exc.code, error=exc)
        return ResumeResult("resumed", session=resumed)

    def _resume(
        self, session: Session, place: Storage, *, event: Event = Event.RESUMED
    ) -> dict[str, Any]:
        try:
            response = self._send_with_session(
                "POST", "/sessions/resume", session, json_body=session.resume_body(), bearer=False
            )
            rotated = protocol.read_session(response, 200, self._application_key)
        except ServiceUnavailable as exc:
            self._emit(Event.SERVICE_UNREACHABLE, error=exc, code=exc.code)
            raise
        except Rejected as exc:
            self._reject(session, place, exc)
            raise
        self._keep(rotated, place)
        self._emit(event, session=rotated.to_dict())
        return rotated.to_dict()

    # -- calls of other APIs with this session (authclient.messaging) ---------------------

    def session_request(self, method: str, path: str) -> HttpRequest:
        """The request `method path` (under the auth URL) with this session's Bearer token and
        device proof, for a transport of its own to send (a stream). Not sent here."""
        self.sync_from_storage()
        return self._session_request(method, path, self._require_session())

    def reject_session(self, error: SessionRejected, session_id: str | None = None) -> None:
        """The service refused the session on a call this client did not make (a stream's end):
        drop it, as a refusal here would (SESSION_REJECTED). Nothing happens if the session is
        no longer `session_id` (the user signed out, or in again, since)."""
        session = self._session
        if session is None or session_id not in (None, session.session_id):
            return
        self._reject(session, self._place, error)

    def session_call(
        self, method: str, path: str, json_body: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Send `method path` with this session (its newest secret: another tab may have rotated
        it, and a rotated-out one would revoke the session). A 2xx response is returned; any
        other raises its error, and a refusal of the session drops it (SESSION_REJECTED)."""
        self.sync_from_storage()
        session = self._require_session()
        try:
            response = self._send_with_session(method, path, session, json_body=json_body)
            if not 200 <= response.status < 300:
                raise protocol.error_from_response(response)
            return response
        except SessionRejected as exc:
            self._reject(session, self._place, exc)
            raise

    def _held_or_stored(self) -> tuple[Session, Storage] | None:
        """The current session and its place, or else a valid one in storage."""
        if self._session is not None:
            return self._session, self._place
        if not self._persist:
            return None
        raw, place = self._read_stored()
        try:
            return Session.from_json(raw, application_key=self._application_key), place
        except InvalidStoredSession:
            return None

    def _keep_alive_result(
        self, outcome: KeepAliveOutcome, now: datetime | None, error: AuthError | None = None
    ) -> KeepAliveResult:
        if self._plan is None:
            return KeepAliveResult(outcome, error=error)
        now = now or utc_now()
        next_check = self._plan.next_check_at(now)
        token_check = self._next_token_check(now)
        if token_check is not None and (next_check <= now or token_check < next_check):
            next_check = token_check
        next_check_s = (next_check - now).total_seconds()
        return KeepAliveResult(outcome, max(next_check_s, 0.0), error)

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
        self,
        method: str,
        path: str,
        held: Session | Revocation,
        *,
        json_body: dict[str, Any] | None = None,
        bearer: bool = True,
    ) -> HttpRequest:
        """A request that uses the session `held`: as the Bearer token, unless its secret is in
        `json_body` (resume); with the proof of the device key, if this client has one."""
        headers = {}
        proof = self._prove(method, path, held)
        if proof is not None:
            headers[PROOF_HEADER] = proof
        return protocol.build_request(
            method,
            self._auth_url,
            path,
            json_body=json_body,
            bearer=held.bearer_token if bearer else None,
            headers=headers,
        )

    def _send_with_session(
        self,
        method: str,
        path: str,
        held: Session | Revocation,
        *,
        json_body: dict[str, Any] | None = None,
        bearer: bool = True,
    ) -> HttpResponse:
        """Send a request that uses the session `held`; if its proof is refused for its time
        alone (`use_proof_nonce`: this device's clock is off), once more, with the nonce the
        answer carries."""
        for attempt in range(2):
            request = self._session_request(method, path, held, json_body=json_body, bearer=bearer)
            response = self._send(request)
            renewed = self._note_nonce(response)
            if not (
                attempt == 0
                and renewed
                and self._signer is not None
                and response.status == 401
                and protocol.error_code(response) == "use_proof_nonce"
            ):
                break
        return response

    def _note_nonce(self, response: HttpResponse) -> bool:
        """Keep the proof nonce the answer carries, if any; whether it did."""
        nonce = response.headers.get(NONCE_HEADER.lower())
        if not nonce:
            return False
        self._proof_nonce = nonce
        return True

    def _device_key(self) -> dict[str, str] | None:
        """The public key to bind a new session to; None without a signer, or when it fails
        (storage for keys blocked): then the session is not bound, rather than not started."""
        if self._signer is None:
            return None
        try:
            return self._signer.public_key(create=True)
        except Exception as exc:
            logger.warning(
                "No device key (%s: %s); this session will not be bound", type(exc).__name__, exc
            )
            return None

    def _prove(self, method: str, path: str, held: Session | Revocation) -> str | None:
        """The proof of the device key for this request; None without a signer or a key."""
        if self._signer is None:
            return None
        try:
            return make_proof(
                self._signer,
                method,
                self._auth_url + path,
                held.session_id,
                held.session_secret,
                nonce=self._proof_nonce,
                now_s=self._clock_s(),
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

    # -- state and storage ---------------------------------------------------------------

    @property
    def _pending_key(self) -> str:
        return pending_revocations_key(self._storage_key)

    def _places(self) -> tuple[Storage, ...]:
        """Where to look, the tab's own place first."""
        if self._per_tab is self._lasting:
            return (self._lasting, self._unsaved)
        return (self._per_tab, self._lasting, self._unsaved)

    def _set_session(self, session: Session, place: Storage, *, saved: bool = True) -> None:
        if self._session is None or self._session.session_id != session.session_id:
            self._drop_tokens()
        self._session = session
        self._place = place
        self._saved = saved
        self._plan = self._keep_alive.plan(session.idle_expires, session.expires, utc_now())
        self._warned = False

    def _clear_session(self) -> None:
        self._session = None
        self._plan = None
        self._password_change_required = False
        self._drop_tokens()

    def _drop_tokens(self) -> None:
        self._tokens.clear()
        self._token_retry_at.clear()

    def _keep(self, session: Session, place: Storage) -> None:
        try:
            place.set_item(self._storage_key, session.to_json())
        except Exception as exc:  # quota, private mode: the session still works for this page
            logger.warning(
                "Could not save the session under %r (%s: %s); keeping it in memory only",
                self._storage_key,
                type(exc).__name__,
                exc,
            )
            self._set_session(session, place, saved=False)
        else:
            self._set_session(session, place)

    def _read_stored(self) -> tuple[str | None, Storage]:
        """The stored session object and where it is; the tab's own first."""
        for place in self._places():
            raw = self._get(place, self._storage_key)
            if raw is not None:
                return raw, place
        return None, self._lasting

    def _update_pending(
        self,
        place: Storage,
        *,
        add: Sequence[Revocation] = (),
        remove: Sequence[Revocation] = (),
    ) -> None:
        """Add to or take from the revocations waiting in `place`, as stored right now (another
        tab may have changed them meanwhile)."""
        before = Revocation.read_all(self._get(place, self._pending_key))
        waiting = [each for each in before if each not in remove] + list(add)
        if waiting == before:
            return
        if waiting:
            try:
                place.set_item(self._pending_key, Revocation.write_all(waiting))
            except Exception as exc:
                logger.warning(
                    "Could not save a waiting sign-out (%s: %s); it waits in memory only",
                    type(exc).__name__,
                    exc,
                )
                self._update_pending(self._unsaved, add=add)
        else:
            self._remove(place, self._pending_key)

    def _get(self, place: Storage, key: str) -> str | None:
        try:
            return place.get_item(key)
        except Exception as exc:
            logger.warning("Could not read %r from storage (%s: %s)", key, type(exc).__name__, exc)
            return None

    def _remove(self, place: Storage, key: str) -> None:
        try:
            place.remove_item(key)
        except Exception as exc:
            logger.warning(
                "Could not remove %r from storage (%s: %s)", key, type(exc).__name__, exc
            )

    def _reject(self, session: Session, place: Storage, error: Rejected) -> None:
        self._clear_session()
        self._remove(place, self._storage_key)
        self._remove(place, self.access_tokens_key)
        self._emit(Event.SESSION_REJECTED, user_id=session.user_id, error=error, code=error.code)

    def _sign_out(self, session: Session, place: Storage, *, reason: str) -> None:
        self._clear_session()
        self._remove(place, self._storage_key)
        self._remove(place, self.access_tokens_key)
        self._emit(Event.SIGNED_OUT, user_id=session.user_id, reason=reason)

    def _emit(self, event: Event, **payload: Any) -> None:
        self._events.emit(event, payload)
