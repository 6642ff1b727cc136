"""State-change events and the subscriptions to them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

__all__ = ["Callback", "Event", "EventEmitter"]

logger = logging.getLogger("authclient")


class Event(StrEnum):
    SIGNED_IN = "signed_in"  # payload: session, method ("password" | "ticket")
    RESUMED = "resumed"  # payload: session
    SESSION_UPDATED = (
        "session_updated"  # payload: session, source ("storage"): adopted from another tab
    )
    SIGNED_OUT = "signed_out"  # payload: user_id, reason ("terminate" | "forget" | "storage")
    SESSION_REJECTED = "session_rejected"  # payload: user_id, error
    SERVICE_UNREACHABLE = "service_unreachable"  # payload: error


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
