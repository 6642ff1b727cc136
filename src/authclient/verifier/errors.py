"""The verifier's one tree of errors, each with the HTTP status and the `WWW-Authenticate` value to
answer with (RFC 6750 3, RFC 9449 7.1)::

    TokenRefused                  base: .status, .error (the RFC's code), .description, .scheme
    ├── NoToken                   401, no error code: the request carried no access token
    ├── MalformedRequest          400 invalid_request: two tokens, a broken header, DPoP without a proof
    ├── InvalidToken              401 invalid_token: the token is not one to accept
    │   ├── ExpiredToken          its exp (or nbf) is past the leeway
    │   └── UnknownKey            its kid is in no JWKS the issuer publishes (removed, or forged)
    ├── InvalidProof              401 invalid_dpop_proof: the DPoP proof is wrong for this request
    │   └── ReplayedProof         its jti was seen before
    └── KeysUnavailable           503: the issuer's JWKS could not be fetched (not the caller's fault)

`www_authenticate` names the scheme the request used (DPoP for a device-bound token) and, where
the verifier accepts both, offers the other: `DPoP algs="ES256", Bearer`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "ExpiredToken",
    "InvalidProof",
    "InvalidToken",
    "KeysUnavailable",
    "MalformedRequest",
    "NoToken",
    "ReplayedProof",
    "TokenRefused",
    "UnknownKey",
]

Scheme = Literal["Bearer", "DPoP"]
ALGORITHMS = ("ES256",)


class TokenRefused(Exception):
    """Base class: the request is not let through."""

    status: ClassVar[int] = 401
    error: ClassVar[str | None] = "invalid_token"

    def __init__(self, description: str, *, scheme: Scheme = "Bearer") -> None:
        super().__init__(description)
        self.description = description
        self.scheme = scheme

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r}, scheme={self.scheme!r})"

    @property
    def www_authenticate(self) -> str:
        """The challenge: the scheme used (with its error), then the other scheme offered."""
        own = []
        if self.error is not None:
            description = self.description.replace("\\", "\\\\").replace('"', "'")
            own = [f'error="{self.error}"', f'error_description="{description}"']
        algs = f'algs="{" ".join(ALGORITHMS)}"'
        dpop = "DPoP " + ", ".join([*(own if self.scheme == "DPoP" else []), algs])
        bearer = (
            " ".join(["Bearer", ", ".join(own)]) if self.scheme == "Bearer" and own else "Bearer"
        )
        return f"{dpop}, {bearer}" if self.scheme == "DPoP" else f"{bearer}, {dpop}"


class NoToken(TokenRefused):
    error = None


class MalformedRequest(TokenRefused):
    status = 400
    error = "invalid_request"


class InvalidToken(TokenRefused):
    pass


class ExpiredToken(InvalidToken):
    pass


class UnknownKey(InvalidToken):
    pass


class InvalidProof(TokenRefused):
    error = "invalid_dpop_proof"

    def __init__(self, description: str, *, scheme: Scheme = "DPoP") -> None:
        super().__init__(description, scheme=scheme)


class ReplayedProof(InvalidProof):
    pass


class KeysUnavailable(TokenRefused):
    status = 503
    error = None
