"""Python client of the auth service: sign in, save the session, resume it on the next visit.

Runs unchanged in CPython and in Pyodide (stdlib only). See `SessionClient`.
"""

from __future__ import annotations

from . import errors
from .backoff import Backoff
from .client import DEFAULT_STORAGE_KEY_PREFIX, ResumeResult, SessionClient
from .errors import AuthError
from .events import Event
from .session import Session
from .storage import (
    MemoryStorage,
    Storage,
    WebStorage,
    default_storage,
    local_storage,
    session_storage,
)
from .transport import HttpRequest, HttpResponse, Transport, UrllibTransport

__all__ = [
    "AuthError",
    "Backoff",
    "DEFAULT_STORAGE_KEY_PREFIX",
    "Event",
    "HttpRequest",
    "HttpResponse",
    "MemoryStorage",
    "ResumeResult",
    "Session",
    "SessionClient",
    "Storage",
    "Transport",
    "UrllibTransport",
    "WebStorage",
    "default_storage",
    "errors",
    "local_storage",
    "session_storage",
]
