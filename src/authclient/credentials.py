"""What `start()` and `new_user()` accept, checked before any request is made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidArgument
from .session import Session

__all__ = ["Password", "Ticket", "parse_credentials", "parse_password"]

_SESSION_KEYS = frozenset({"version", "userId", "sessionId", "sessionSecret"})


@dataclass(frozen=True, slots=True)
class Password:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str = field(repr=False)


def parse_credentials(credentials: object, *, application_key: str) -> Password | Ticket | Session:
    """{username, password}, {userTicket} or a session object (to resume)."""
    data = _mapping(credentials)
    shapes = [
        name
        for name, present in (
            ("password", "username" in data or "password" in data),
            ("ticket", "userTicket" in data),
            ("session", bool(_SESSION_KEYS & data.keys())),
        )
        if present
    ]
    if not shapes:
        raise InvalidArgument(
            "start() needs {'username', 'password'}, {'userTicket'} or a session object; "
            f"got the keys {sorted(data)}"
        )
    if len(shapes) > 1:
        raise InvalidArgument(f"start() got a mix of credential kinds: {', '.join(shapes)}")
    if shapes == ["password"]:
        return parse_password(data)
    if shapes == ["ticket"]:
        return Ticket(_text(data, "userTicket"))
    return Session.from_dict(dict(data), application_key=application_key)


def parse_password(credentials: object) -> Password:
    data = _mapping(credentials)
    return Password(_text(data, "username"), _text(data, "password"))


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"credentials must be a dict, got {type(value).__name__}")
    return value


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise InvalidArgument(f"{name!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgument(f"{name!r} must not be empty")
    return value
