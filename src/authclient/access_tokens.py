"""Access tokens for the application's own backend (docs/api.md, Access tokens): what the client
keeps of them, and how it shares them with the page's other tabs.

A token lives a few minutes. The client keeps it in memory until shortly before it expires
(`MIN_LIFE_S`), and beside the session in storage, under a key of its own
(`access_tokens_key(storage_key)`), so that another tab takes it from there (on the storage
event, or before asking for one) instead of asking the service again. Stored as JSON, with the
session it belongs to; the times are this device's own (the service's `expiresIn` counted from
when the answer came), so a device whose clock is wrong still refreshes in time::

    {"sessionId": "ses_…", "tokens": [{"audience": null, "accessToken": "eyJ…",
     "tokenType": "DPoP", "expiresAt": "2026-11-27T04:05:00+00:00"}]}
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from .session import parse_time, read_json

__all__ = [
    "MIN_LIFE_S",
    "REFRESH_BEFORE_S",
    "AccessToken",
    "access_tokens_key",
    "read_stored_tokens",
    "refresh_jitter_s",
    "write_stored_tokens",
]

logger = logging.getLogger("authclient")

TokenType = Literal["DPoP", "Bearer"]
# A token with less than this left is not handed out: it could expire on its way.
MIN_LIFE_S = 30.0
# The keep-alive gets a new token this long before the old one expires, plus a share of
# `_REFRESH_SPREAD_S` drawn once per client: the page's tabs do not all ask at the same moment,
# and the first one's token reaches the others through storage.
REFRESH_BEFORE_S = 60.0
_REFRESH_SPREAD_S = 30.0
_KEY_SUFFIX = ":accessTokens"
_MAX_TOKEN_CHARS = 4096
# A JWT: three base64url parts; safe in a header as it is.
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_TOKEN_TYPES = ("DPoP", "Bearer")


def access_tokens_key(storage_key: str) -> str:
    """Where the access tokens of the session kept under `storage_key` are kept.

    >>> access_tokens_key("sinchSession-app_123")
    'sinchSession-app_123:accessTokens'
    """
    return storage_key + _KEY_SUFFIX


def refresh_jitter_s() -> float:
    return random.uniform(0.0, _REFRESH_SPREAD_S)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token for `audience` (None: the application itself). `token_type` says how to
    send it: "DPoP" with a proof of the device key (`SessionClient.make_dpop_proof`), "Bearer"
    as it is. `expires_at` is by this device's clock."""

    token: str = field(repr=False)
    token_type: TokenType
    expires_at: datetime
    audience: str | None = None

    @property
    def authorization(self) -> str:
        """The Authorization header's value: `DPoP <token>` or `Bearer <token>`."""
        return f"{self.token_type} {self.token}"

    def usable_at(self, now: datetime) -> bool:
        return now + timedelta(seconds=MIN_LIFE_S) < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "audience": self.audience,
            "accessToken": self.token,
            "tokenType": self.token_type,
            "expiresAt": self.expires_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: object) -> AccessToken | None:
        """The token `data` describes, or None if it is not one."""
        if not isinstance(data, dict):
            return None
        token, token_type = data.get("accessToken"), data.get("tokenType")
        audience, expires_at = data.get("audience"), data.get("expiresAt")
        if not (
            isinstance(token, str) and len(token) <= _MAX_TOKEN_CHARS and _JWT.fullmatch(token)
        ):
            return None
        if token_type not in _TOKEN_TYPES or not (audience is None or isinstance(audience, str)):
            return None
        expires = parse_time(expires_at) if isinstance(expires_at, str) else None
        if expires is None:
            return None
        return cls(token, token_type, expires, audience)

    @classmethod
    def from_answer(
        cls, data: dict[str, Any], audience: str | None, received_at: datetime
    ) -> AccessToken | None:
        """The token of the service's answer (`POST /v1/tokens`), or None if it is malformed."""
        expires_in = data.get("expiresIn")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in < 0:
            return None
        return cls.from_dict(
            {
                "audience": audience,
                "accessToken": data.get("accessToken"),
                "tokenType": data.get("tokenType"),
                "expiresAt": (received_at + timedelta(seconds=expires_in)).isoformat(),
            }
        )


def read_stored_tokens(text: str | None, session_id: str) -> list[AccessToken]:
    """The tokens stored as `text` for session `session_id`; none for another session, and
    anything unreadable is left out."""
    data = read_json(text)
    if not isinstance(data, dict) or data.get("sessionId") != session_id:
        return []
    items = data.get("tokens")
    tokens = [each for each in map(AccessToken.from_dict, items or []) if each is not None]
    if not isinstance(items, list) or len(tokens) != len(items):
        logger.warning("Left out unreadable access tokens found in storage")
    return tokens


def write_stored_tokens(session_id: str, tokens: Iterable[AccessToken]) -> str:
    return json.dumps(
        {"sessionId": session_id, "tokens": [token.to_dict() for token in tokens]},
        separators=(",", ":"),
    )
