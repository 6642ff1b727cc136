"""Python client of the auth service: sign in, save the session, resume it on the next visit.

Runs unchanged in CPython and in Pyodide, with the standard library only, and imports nothing from
the browser: a page hands in its storage (`authclient.browser.WebStorage`) and its transport.
See `SessionClient`.
"""

from __future__ import annotations

from . import errors
from .access_tokens import AccessToken
from .backoff import Backoff
from .client import ResumeResult, RevocationOutcome, SessionClient, SignOutOutcome
from .error_codes import ERROR_CODES, ErrorCode, user_message
from .errors import AuthError
from .events import Event, public_payload
from .keepalive import KeepAlive, KeepAliveResult
from .messaging import Messenger
from .proofs import DeviceSigner
from .revocation import pending_revocations_key
from .session import Session
from .storage import MemoryStorage, Storage, storage_key_for
from .transport import DEFAULT_TIMEOUT_S, HttpRequest, HttpResponse, Transport, UrllibTransport

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ERROR_CODES",
    "AccessToken",
    "AuthError",
    "Backoff",
    "DeviceSigner",
    "ErrorCode",
    "Event",
    "HttpRequest",
    "HttpResponse",
    "KeepAlive",
    "KeepAliveResult",
    "MemoryStorage",
    "Messenger",
    "ResumeResult",
    "RevocationOutcome",
    "Session",
    "SessionClient",
    "SignOutOutcome",
    "Storage",
    "Transport",
    "UrllibTransport",
    "errors",
    "pending_revocations_key",
    "public_payload",
    "storage_key_for",
    "user_message",
]
