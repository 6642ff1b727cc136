"""What auth hands the features beside it (messaging, tokens) through the composition root, as
callables, so that none of them holds `AuthService`."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from authservice.auth.presented import PresentedSession
from authservice.auth.sessions import SessionView

__all__ = ["Authenticate", "EndedSessions", "SessionEnd"]

# The session a request presents, checked: the session it is, or a SessionRejected.
Authenticate = Callable[[PresentedSession], SessionView]
# When a session (by id) ends, in the caller's transaction; its SessionRejected if it has.
SessionEnd = Callable[[Session, str, datetime], datetime]
# Which of these sessions (by id) have ended, in one statement on the caller's connection.
EndedSessions = Callable[[Connection, Collection[str], datetime], set[str]]
