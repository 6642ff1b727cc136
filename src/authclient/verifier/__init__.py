"""Verifying the auth service's access tokens in an application's own backend: no call to the
service per request, only its published keys (fetched and kept).

Optional, like `authclient.ec_signer`: it needs `cryptography` (the wheel's `verifier` extra); the
rest of the library imports nothing from here. `authclient.verifier.fastapi` makes it a FastAPI
dependency. See `AccessTokenVerifier`.
"""

from __future__ import annotations

from .dpop import DpopChecker, MemoryReplayCache, ReplayCache
from .errors import (
    ExpiredToken,
    InvalidProof,
    InvalidToken,
    KeysUnavailable,
    MalformedRequest,
    NoToken,
    ReplayedProof,
    TokenRefused,
    UnknownKey,
)
from .jwks import JwksCache
from .tokens import AccessTokenVerifier, VerifiedToken

__all__ = [
    "AccessTokenVerifier",
    "DpopChecker",
    "ExpiredToken",
    "InvalidProof",
    "InvalidToken",
    "JwksCache",
    "KeysUnavailable",
    "MalformedRequest",
    "MemoryReplayCache",
    "NoToken",
    "ReplayCache",
    "ReplayedProof",
    "TokenRefused",
    "UnknownKey",
    "VerifiedToken",
]
