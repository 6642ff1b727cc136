"""Access tokens as JWTs (RFC 9068): their claims, and reading one back (for introspection).

header  {"typ": "at+jwt", "alg": "ES256", "kid": <the signing key's thumbprint>}
claims  iss  the service's public URL (/v1 included)    sub  the user id
        aud  the application key, or an audience it registered
        client_id  the application key                  sid  the session
        iat, exp  Unix times (s)                        jti  random, unique
        cnf  {"jkt": <RFC 7638 thumbprint of the device key>}, for a device-bound session
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from authservice.auth.sessions import SessionView
from authservice.tokens.jose import (
    jwk_thumbprint,
    public_key_from_jwk,
    read_jws,
    sign_jws,
    verify_es256,
)
from authservice.tokens.signing_keys import ALGORITHM, SigningKey

__all__ = [
    "TOKEN_TYPE",
    "IssuedToken",
    "TokenType",
    "access_token_claims",
    "read_access_token",
    "sign_access_token",
]

TOKEN_TYPE = "at+jwt"
# How the token is presented to the application's backend (RFC 9449 for a bound one, RFC 6750).
TokenType = Literal["DPoP", "Bearer"]
_JTI_BYTES = 16


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    token_type: TokenType
    expires_at: datetime
    expires_in_s: int


def access_token_claims(
    *,
    issuer: str,
    session: SessionView,
    audience: str,
    now: datetime,
    ttl_s: float,
    device_key: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The claims of a token for `session`: it lives `ttl_s`, and never past the session's end."""
    issued_at = math.floor(now.timestamp())
    ends_at = min(session.expires_at, session.idle_expires_at).timestamp()
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": session.user_id,
        "aud": audience,
        "exp": max(issued_at, math.floor(min(now.timestamp() + ttl_s, ends_at))),
        "iat": issued_at,
        "jti": secrets.token_urlsafe(_JTI_BYTES),
        "client_id": session.application_key,
        "sid": session.session_id,
    }
    if device_key is not None:
        claims["cnf"] = {"jkt": jwk_thumbprint(device_key)}
    return claims


def sign_access_token(claims: Mapping[str, Any], key: SigningKey, now: datetime) -> IssuedToken:
    if key.private_key is None:
        raise ValueError(f"signing key {key.kid} was loaded without its private half")
    header = {"typ": TOKEN_TYPE, "alg": ALGORITHM, "kid": key.kid}
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    return IssuedToken(
        access_token=sign_jws(header, claims, key.private_key),
        token_type="DPoP" if "cnf" in claims else "Bearer",
        expires_at=expires_at,
        expires_in_s=max(0, math.floor((expires_at - now).total_seconds())),
    )


def read_access_token(
    token: str, keys: Mapping[str, SigningKey], issuer: str, now: datetime
) -> dict[str, Any] | None:
    """The claims of a token this service signed with a key not removed, for this issuer, not
    expired; None for anything else (whatever is wrong with it)."""
    try:
        header, claims, signing_input, signature = read_jws(token)
    except ValueError:
        return None
    key = keys.get(header.get("kid", "")) if isinstance(header.get("kid"), str) else None
    if key is None or header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
        return None
    if not verify_es256(public_key_from_jwk(key.public_key), signing_input, signature):
        return None
    expires = claims.get("exp")
    if claims.get("iss") != issuer or not isinstance(expires, int) or expires <= now.timestamp():
        return None
    return claims
