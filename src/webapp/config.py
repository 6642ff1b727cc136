"""What the page's Python needs to know, in one type.

The build writes it into index.html as JSON (and into dist/build.json); the page's inline script
reads the storage key from it to guess the first view, static/boot.mjs how long Python may take to
start, static/password-fields.mjs the rule for new passwords; Python reads it back at start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from authclient import DEFAULT_TIMEOUT_S, storage_key_for
from authclient.transport import checked_timeout_s

__all__ = [
    "DEFAULT_AUTH_URL",
    "DEFAULT_BACKEND_URL",
    "DEFAULT_START_TIMEOUT_S",
    "NEW_PASSWORD_MAX_CHARS",
    "NEW_PASSWORD_MIN_CHARS",
    "PageConfig",
]

# Where the page finds the auth service by default: beside it, on the same origin.
DEFAULT_AUTH_URL = "/v1"
# Where the page finds the application's own backend (examples/app_backend), which it calls with
# an access token: on the same origin by default, where `build.py serve` runs it.
DEFAULT_BACKEND_URL = "/api"
# How long the page lets Python take to start before it says that it has not (static/boot.mjs).
# Generous: a first visit downloads about 7 MB, and WebKitGTK on 2 busy cores needs 20 s and more.
DEFAULT_START_TIMEOUT_S = 90.0
# The auth service's rule for a new password, in characters (code points, after NFKC): what the
# page tells a user as they type one, before the service is asked. The service's own rule
# (authservice.auth.rules, which the page does not bundle) decides; a test checks that they agree.
NEW_PASSWORD_MIN_CHARS = 12
NEW_PASSWORD_MAX_CHARS = 128


@dataclass(frozen=True, slots=True)
class PageConfig:
    """
    >>> config = PageConfig("app_123")
    >>> config.storage_key
    'sinchSession-app_123'
    >>> PageConfig.from_json(json.dumps(config.to_dict())) == config
    True
    """

    application_key: str
    auth_url: str = DEFAULT_AUTH_URL
    request_timeout_s: float = DEFAULT_TIMEOUT_S
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S
    backend_url: str = DEFAULT_BACKEND_URL

    def __post_init__(self) -> None:
        if not isinstance(self.application_key, str) or not self.application_key.strip():
            raise ValueError("application_key must be a non-empty string")
        for name in ("auth_url", "backend_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        checked_timeout_s(self.request_timeout_s, "request_timeout_s")
        checked_timeout_s(self.start_timeout_s, "start_timeout_s")

    @property
    def storage_key(self) -> str:
        return storage_key_for(self.application_key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicationKey": self.application_key,
            "authUrl": self.auth_url,
            "requestTimeoutS": self.request_timeout_s,
            "startTimeoutS": self.start_timeout_s,
            "backendUrl": self.backend_url,
            "storageKey": self.storage_key,
            # Not a setting: what the page needs to know of the service's rule.
            "newPassword": {"minChars": NEW_PASSWORD_MIN_CHARS, "maxChars": NEW_PASSWORD_MAX_CHARS},
        }

    @classmethod
    def from_json(cls, text: str) -> PageConfig:
        """Read what `to_dict()` wrote; the storage key follows from the application key."""
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("the page configuration is not a JSON object")
        return cls(
            data["applicationKey"],
            data["authUrl"],
            data["requestTimeoutS"],
            data["startTimeoutS"],
            data.get("backendUrl", DEFAULT_BACKEND_URL),
        )
