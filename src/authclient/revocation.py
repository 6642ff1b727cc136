"""Sign-outs the service has not confirmed yet: what revoking a session needs, and no more.

`terminate()` signs out on the device at once; when the service cannot be told, the revocation
waits in storage under a key of its own (`pending_revocations_key`) until it can. A waiting
revocation holds the session's id and secret (the Bearer credential the service asks for), and
whether it was "sign out everywhere": no expiry, no user. Stored as JSON::

    [{"sessionId": "ses_…", "sessionSecret": "…", "everywhere": false}]
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from .session import is_token, read_json

__all__ = ["MAX_PENDING_REVOCATIONS", "Revocation", "pending_revocations_key"]

logger = logging.getLogger("authclient")

# A device signed out offline again and again keeps only its latest sign-outs.
MAX_PENDING_REVOCATIONS = 8
_KEY_SUFFIX = ":pendingSignOut"


def pending_revocations_key(storage_key: str) -> str:
    """Where the sign-outs of the session kept under `storage_key` wait.

    >>> pending_revocations_key("sinchSession-app_123")
    'sinchSession-app_123:pendingSignOut'
    """
    return storage_key + _KEY_SUFFIX


@dataclass(frozen=True, slots=True)
class Revocation:
    session_id: str
    session_secret: str = field(repr=False)
    everywhere: bool = False

    @property
    def bearer_token(self) -> str:
        return f"{self.session_id}.{self.session_secret}"

    @property
    def path(self) -> str:
        """The endpoint that revokes it (docs/api.md)."""
        return "/users/me/sessions" if self.everywhere else "/sessions/current"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "sessionSecret": self.session_secret,
            "everywhere": self.everywhere,
        }

    @classmethod
    def from_dict(cls, data: object) -> Revocation | None:
        """The revocation `data` describes, or None if it is not one."""
        if not isinstance(data, dict):
            return None
        session_id, secret = data.get("sessionId"), data.get("sessionSecret")
        everywhere = data.get("everywhere", False)
        if not (isinstance(session_id, str) and isinstance(secret, str)):
            return None
        if not (is_token(session_id) and is_token(secret)) or type(everywhere) is not bool:
            return None
        return cls(session_id, secret, everywhere)

    @staticmethod
    def read_all(text: str | None) -> list[Revocation]:
        """The revocations stored as `text`; anything unreadable in it is left out (and logged)."""
        data = read_json(text)
        items = data if isinstance(data, list) else []
        revocations = [each for each in map(Revocation.from_dict, items) if each is not None]
        if len(revocations) != len(items) or not isinstance(data, list):
            logger.warning("Dropped unreadable entries from the sign-outs waiting in storage")
        return revocations

    @staticmethod
    def write_all(revocations: list[Revocation]) -> str:
        kept = revocations[-MAX_PENDING_REVOCATIONS:]
        return json.dumps([each.to_dict() for each in kept], separators=(",", ":"))
