"""State-change events and the subscriptions to them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

__all__ = ["Callback", "Event", "EventEmitter", "public_payload"]

logger = logging.getLogger("authclient")


class Event(StrEnum):
    """Every change of the session, with its payload (a dict); README.md documents each."""

    # Once per client, when its first resume_stored() has settled: signed_in (bool), outcome
    # ("resumed" | "login_needed" | "unreachable"), reason (None when resumed), session, user_id.
    INITIAL_SESSION = "initial_session"
    # session, method ("password" | "ticket"); password_change_required (True), when the password
    # is one the service's policy now refuses: ask for a new one first
    SIGNED_IN = "signed_in"
    RESUMED = "resumed"  # session
    REFRESHED = "refreshed"  # session: rotated by the keep-alive while the page stays open
    SESSION_UPDATED = "session_updated"  # session, source ("storage"): adopted from another tab
    # user_id, ends_at (ISO time), refreshable (False: the absolute end; True: refreshing failed)
    SESSION_EXPIRING = "session_expiring"
    # user_id, reason ("terminate" | "forget" | "storage" | "account_deleted")
    SIGNED_OUT = "signed_out"
    SESSION_REJECTED = "session_rejected"  # user_id, error, code
    REAUTHENTICATED = "reauthenticated"  # user_id: the password was given again in this session
    PASSWORD_CHANGED = "password_changed"  # session (rotated): every other session has ended
    OTHERS_SIGNED_OUT = "others_signed_out"  # user_id: every other session has ended
    SERVICE_UNREACHABLE = "service_unreachable"  # error, code
    # audience (None: the application), token_type, token_expires_at (ISO time), source
    # ("service": got now; "storage": another tab got it). Never the token itself.
    TOKEN_REFRESHED = "token_refreshed"


# Payload fields a page may hand to scripts that are not ours: never a session object or secret.
_PUBLIC_FIELDS = {
    "user_id": "userId",
    "signed_in": "signedIn",
    "outcome": "outcome",
    "reason": "reason",
    "method": "method",
    "source": "source",
    "code": "code",
    "ends_at": "endsAt",
    "refreshable": "refreshable",
    "password_change_required": "passwordChangeRequired",
    "audience": "audience",
    "token_type": "tokenType",
    "token_expires_at": "tokenExpiresAt",
}


def public_payload(event: Event, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` as a page may pass it on (a DOM event, a log): JSON-ready, camelCase, the
    session reduced to its user and deadlines, no secret, no error object.

    >>> public_payload(Event.SIGNED_OUT, {"user_id": "alice", "reason": "terminate"})
    {'event': 'signed_out', 'userId': 'alice', 'reason': 'terminate'}
    """
    detail: dict[str, Any] = {"event": str(event)}
    session = payload.get("session")
    if isinstance(session, dict):
        detail.update(
            userId=session.get("userId"),
            expiresAt=session.get("expiresAt"),
            idleExpiresAt=session.get("idleExpiresAt"),
        )
    for name, public_name in _PUBLIC_FIELDS.items():
        if name in payload:
            detail[public_name] = payload[name]
    return detail


Callback = Callable[[Event, dict[str, Any]], object]


class EventEmitter:
    """Calls subscribers in order; a subscriber that raises is logged and the rest still run."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[Event | None, Callback]] = []

    def on(self, event: Event | None, callback: Callback) -> Callable[[], None]:
        """Subscribe to one event, or to all with None. Returns a function that cancels."""
        if event is not None:
            event = Event(event)
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        subscription = (event, callback)
        self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

        return unsubscribe

    def emit(self, event: Event, payload: dict[str, Any]) -> None:
        for wanted, callback in list(self._subscriptions):
            if wanted is None or wanted is event:
                try:
                    callback(event, payload)
                except Exception:
                    logger.exception("A callback for %s raised; the client carries on", event)

    def __repr__(self) -> str:
        return f"EventEmitter(subscriptions={len(self._subscriptions)})"
