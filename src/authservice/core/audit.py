"""Security events, one JSON line each, on the logger `authservice.audit`.

    {"time": "2026-11-27T04:00:00.123Z", "event": "sign_in.failed", "application": "app_…",
     "user_hash": "9f2c…", "address": "203.0.113.7", "reason": "invalid_credentials"}

A line never holds a password, a session secret, a ticket or an application secret. A user who
signed in is named by their userId; a username that failed to sign in (which may be a password
typed into the wrong field) only by `user_hash`, a keyed hash that tells repeats of one name apart
and nothing else. Session ids are logged: without the secret they open nothing. JSON escapes every
control character, so a value cannot forge a line (ASVS 7.3.1).
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["AUDIT_LOGGER", "AuditEvent", "configure_audit_log", "record_event"]

AUDIT_LOGGER = "authservice.audit"
_logger = logging.getLogger(AUDIT_LOGGER)


class AuditEvent(enum.StrEnum):
    SIGN_UP = "sign_up"
    SIGN_IN_SUCCEEDED = "sign_in.succeeded"
    SIGN_IN_FAILED = "sign_in.failed"
    TICKET_REFUSED = "ticket.refused"
    RATE_LIMITED = "rate_limited"
    BUSY = "busy"
    SESSION_REFUSED = "session.refused"
    REUSE_DETECTED = "session.reuse_detected"
    PROOF_REFUSED = "session.proof_refused"
    REAUTHENTICATION_REQUIRED = "session.reauthentication_required"
    SIGN_OUT = "sign_out"
    REVOKE_ALL = "revoke_all"
    REVOKE_OTHERS = "revoke_others"
    REVOKE_SESSION = "revoke_session"
    REAUTHENTICATED = "reauthenticate.succeeded"
    REAUTHENTICATE_FAILED = "reauthenticate.failed"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_CHANGE_FAILED = "password.change_failed"
    ACCOUNT_DELETED = "account.deleted"
    INTROSPECTION_REFUSED = "introspection.refused"


def record_event(event: AuditEvent, **fields: str | int | bool | None) -> None:
    """One line: the time, the event, then the fields that are not None."""
    if not _logger.isEnabledFor(logging.INFO):
        return
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": str(event),
        **{name: value for name, value in fields.items() if value is not None},
    }
    _logger.info(json.dumps(line, ensure_ascii=True, separators=(",", ":")))


def configure_audit_log(destination: Path | None) -> logging.Handler:
    """Send the audit lines to a file (created 0600, appended to) or, for None, to stderr."""
    handler: logging.Handler
    if destination is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        os.close(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handler = logging.FileHandler(destination, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False
    return handler
