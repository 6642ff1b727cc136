"""The session object: parse and validate (defensively), serialise.

The wire and storage format is the auth API's JSON session object (docs/api.md), camelCase::

    {"version": 1, "applicationKey": ..., "userId": ..., "sessionId": ..., "sessionSecret": ...,
     "createdAt": "2026-11-27T04:00:00Z", "expiresAt": ..., "idleExpiresAt": ...}

Anything else, from storage or from a caller, raises `InvalidStoredSession` with a `reason` code;
the message never repeats the value (it may hold a secret).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import InvalidStoredSession

__all__ = [
    "MAX_SESSION_JSON_BYTES",
    "SESSION_FORMAT_VERSION",
    "Session",
    "is_token",
    "parse_time",
    "read_json",
]

SESSION_FORMAT_VERSION = 1
MAX_SESSION_JSON_BYTES = 8 * 1024

# Bearer token characters (RFC 6750 token68): safe in a header, no "\r\n" smuggling.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MAX_FIELD_CHARS = 512

# JSON name -> attribute name
_FIELDS = {
    "applicationKey": "application_key",
    "userId": "user_id",
    "sessionId": "session_id",
    "sessionSecret": "session_secret",
    "createdAt": "created_at",
    "expiresAt": "expires_at",
    "idleExpiresAt": "idle_expires_at",
}
_TOKENS = ("sessionId", "sessionSecret")
_TIMES = ("createdAt", "expiresAt", "idleExpiresAt")


@dataclass(frozen=True, slots=True)
class Session:
    application_key: str
    user_id: str
    session_id: str
    session_secret: str = field(repr=False)
    created_at: str
    expires_at: str
    idle_expires_at: str
    version: int = SESSION_FORMAT_VERSION

    @classmethod
    def from_json(cls, text: str | None, *, application_key: str) -> Session:
        if text is None:
            raise InvalidStoredSession("No session object", reason="missing")
        if not text.strip():
            raise InvalidStoredSession("The session object is empty", reason="empty")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_SESSION_JSON_BYTES:
            raise InvalidStoredSession(
                f"The session object is over {MAX_SESSION_JSON_BYTES} bytes", reason="too_large"
            )
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InvalidStoredSession("The session object is not JSON", reason="not_json") from exc
        return cls.from_dict(data, application_key=application_key)

    @classmethod
    def from_dict(cls, data: object, *, application_key: str) -> Session:
        if not isinstance(data, dict):
            raise InvalidStoredSession(
                f"The session object is a JSON {_json_type(data)}, not an object",
                reason="not_an_object",
            )
        version = _require(data, "version")
        if type(version) is not int:
            raise _wrong_type("version", "an integer")
        if version != SESSION_FORMAT_VERSION:
            raise InvalidStoredSession(
                f"Unknown session format version {version}", reason="unknown_version"
            )
        values = {name: _require(data, name) for name in _FIELDS}
        for name, value in values.items():
            if not isinstance(value, str):
                raise _wrong_type(name, "a string")
            if not value or len(value) > _MAX_FIELD_CHARS:
                raise _invalid(name)
        for name in _TOKENS:
            if not is_token(values[name]):
                raise _invalid(name)
        for name in _TIMES:
            if parse_time(values[name]) is None:
                raise _invalid(name)
        if values["applicationKey"] != application_key:
            raise InvalidStoredSession(
                "The session object belongs to another application", reason="other_application"
            )
        return cls(**{attr: values[name] for name, attr in _FIELDS.items()}, version=version)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": self.version}
        data.update({name: getattr(self, attr) for name, attr in _FIELDS.items()})
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def resume_body(self) -> dict[str, Any]:
        """What POST /v1/sessions/resume needs, and no more."""
        data = self.to_dict()
        return {name: data[name] for name in ("version", *_FIELDS) if name not in _TIMES}

    @property
    def bearer_token(self) -> str:
        return f"{self.session_id}.{self.session_secret}"

    def is_older_than(self, other: Session) -> bool:
        """True when `other` came later: a later sign-in, or a later rotation of this session."""
        return self._age_key() < other._age_key()

    @property
    def expires(self) -> datetime:
        """`expires_at` as an aware datetime (from_dict checked that it parses)."""
        return parse_time(self.expires_at)  # type: ignore[return-value]

    @property
    def idle_expires(self) -> datetime:
        return parse_time(self.idle_expires_at)  # type: ignore[return-value]

    def _age_key(self) -> tuple[datetime, datetime]:
        return parse_time(self.created_at), self.idle_expires  # type: ignore[return-value]


def _require(data: dict[str, Any], name: str) -> Any:
    if name not in data:
        raise InvalidStoredSession(f"The session object has no {name!r}", reason="missing_field")
    return data[name]


def _wrong_type(name: str, expected: str) -> InvalidStoredSession:
    return InvalidStoredSession(f"{name!r} is not {expected}", reason="wrong_type")


def _invalid(name: str) -> InvalidStoredSession:
    return InvalidStoredSession(f"{name!r} has an invalid value", reason="invalid_value")


def read_json(text: str | None) -> Any:
    """What another tab (or anything else) left in storage as JSON; None if nothing or garbage.

    >>> read_json('{"a": 1}'), read_json("not JSON"), read_json(None)
    ({'a': 1}, None, None)
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def is_token(value: str) -> bool:
    """A session id or secret of the allowed characters, and not too long."""
    return len(value) <= _MAX_FIELD_CHARS and _TOKEN.fullmatch(value) is not None


def parse_time(value: str) -> datetime | None:
    """An aware datetime, or None for anything else."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array"
