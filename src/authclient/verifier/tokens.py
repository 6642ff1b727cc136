"""`AccessTokenVerifier`: whether a request to an application's backend carries a valid access
token of the auth service (docs/api.md, Access tokens), with no call to the service.

    verifier = AccessTokenVerifier(issuer="https://auth.example/v1", audience="app_…")
    caller = verifier.authenticate(
        authorization=headers.get("Authorization"), dpop=headers.get("DPoP"),
        method="GET", url="https://api.example/notes",
    )
    caller.user_id, caller.session_id, caller.bound

It checks the signature with the issuer's published keys (JwksCache), the algorithm against an
allow-list (ES256: never `none`, never a MAC keyed with the public key), `typ` (at+jwt), `iss`,
`aud`, `exp` and `nbf` with a small leeway for clocks that drift; and for a device-bound token
(`cnf.jkt`) the request's DPoP proof (dpop.DpopChecker). A bound token presented as a Bearer token
is refused: that is what a copy of it without the key looks like.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .dpop import DpopChecker, MemoryReplayCache
from .errors import (
    ExpiredToken,
    InvalidToken,
    MalformedRequest,
    NoToken,
    Scheme,
)
from .jose import read_jws, verify_es256
from .jwks import JwksCache

__all__ = ["ACCEPTED_ALGORITHMS", "AccessTokenVerifier", "VerifiedToken"]

ACCEPTED_ALGORITHMS = frozenset({"ES256"})
_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check, and who it says is calling."""

    user_id: str
    application_key: str
    session_id: str | None
    expires_at_s: int
    # The thumbprint of the device key the token is bound to (its DPoP proof was checked).
    bound_key: str | None
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def bound(self) -> bool:
        return self.bound_key is not None


class AccessTokenVerifier:
    """Verifies the access tokens of one issuer for one audience. Thread-safe; build it once.

    `jwks` defaults to the issuer's own JWKS (`<issuer>/.well-known/jwks.json`); `dpop` to
    proofs remembered in this process's memory (see dpop.ReplayCache for several processes).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache | None = None,
        dpop: DpopChecker | None = None,
        leeway_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.jwks = jwks or JwksCache(self.issuer + _JWKS_PATH)
        self.dpop = dpop or DpopChecker(MemoryReplayCache(), clock=clock)
        self.leeway_s = leeway_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"AccessTokenVerifier(issuer={self.issuer!r}, audience={self.audience!r})"

    def authenticate(
        self, *, authorization: str | None, dpop: str | None, method: str, url: str
    ) -> VerifiedToken:
        """The caller of a request with these headers, at this method and public URL (its query
        and fragment do not count); a TokenRefused (verifier.errors) otherwise."""
        scheme, token = _credentials(authorization)
        verified = self.verify(token, scheme=scheme)
        if verified.bound_key is None:
            if scheme == "DPoP":
                raise InvalidToken("This token is not bound to a key: send it as Bearer.")
            return verified
        if scheme != "DPoP":
            raise InvalidToken(
                "This token is bound to a device key: send it as DPoP, with a proof.",
                scheme="DPoP",
            )
        if not dpop or "," in dpop:
            raise MalformedRequest("Send one DPoP proof in the DPoP header.", scheme="DPoP")
        self.dpop.check(dpop, method=method, url=url, token=token, jkt=verified.bound_key)
        return verified

    def verify(self, token: str, *, scheme: Scheme = "Bearer") -> VerifiedToken:
        """The token's caller if the token itself is valid (its DPoP proof, if bound, is the
        caller's to check); InvalidToken (or ExpiredToken, UnknownKey) otherwise."""
        try:
            header, claims, signing_input, signature = read_jws(token)
        except ValueError:
            raise InvalidToken("The token is not a signed JWT.", scheme=scheme) from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise InvalidToken(
                f"The token's algorithm {algorithm!r} is not accepted.", scheme=scheme
            )
        if str(header.get("typ", "")).lower() not in _TOKEN_TYPES:
            raise InvalidToken("The token is not an access token (typ at+jwt).", scheme=scheme)
        if not isinstance(kid, str):
            raise InvalidToken("The token names no key (kid).", scheme=scheme)
        jwk, key = self.jwks.key(kid)
        if jwk.get("alg", algorithm) != algorithm or not verify_es256(
            key, signing_input, signature
        ):
            raise InvalidToken("The token's signature is not valid.", scheme=scheme)
        return self._checked_claims(claims, scheme)

    def _checked_claims(self, claims: dict[str, Any], scheme: Scheme) -> VerifiedToken:
        now = self._clock()
        if claims.get("iss") != self.issuer:
            raise InvalidToken("The token is from another issuer.", scheme=scheme)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise InvalidToken("The token is for another audience.", scheme=scheme)
        expires, not_before = claims.get("exp"), claims.get("nbf", now)
        if not (isinstance(expires, int | float) and _is_time(expires) and _is_time(not_before)):
            raise InvalidToken("The token's exp (or nbf) is not a time.", scheme=scheme)
        if now >= expires + self.leeway_s:
            raise ExpiredToken("The token has expired.", scheme=scheme)
        if now + self.leeway_s < not_before:
            raise ExpiredToken("The token is not valid yet.", scheme=scheme)
        user_id, application_key = claims.get("sub"), claims.get("client_id")
        if not (isinstance(user_id, str) and isinstance(application_key, str)):
            raise InvalidToken("The token names no user (sub) or no client_id.", scheme=scheme)
        confirmation = claims.get("cnf")
        bound_key = confirmation.get("jkt") if isinstance(confirmation, dict) else None
        if confirmation is not None and not isinstance(bound_key, str):
            raise InvalidToken("The token's cnf names no key thumbprint (jkt).", scheme=scheme)
        session_id = claims.get("sid")
        return VerifiedToken(
            user_id=user_id,
            application_key=application_key,
            session_id=session_id if isinstance(session_id, str) else None,
            expires_at_s=int(expires),
            bound_key=bound_key,
            claims=claims,
        )


def _credentials(authorization: str | None) -> tuple[Scheme, str]:
    """The scheme and the token of an Authorization header: `Bearer <token>` or `DPoP <token>`."""
    if not authorization:
        raise NoToken("The request carries no access token.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() == "dpop" and token and " " not in token:
        return "DPoP", token
    if scheme.lower() == "bearer" and token and " " not in token:
        return "Bearer", token
    raise MalformedRequest("Send Authorization: DPoP <token> (or Bearer <token>).")


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
