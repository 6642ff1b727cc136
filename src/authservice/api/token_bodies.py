"""The token routes' bodies as they are on the wire: the access token an application's page gets
(camelCase, like the rest of the API), and the published documents of the issuer, which standards
name (RFC 7517 for the JWKS, RFC 8414 for the metadata, RFC 7662 for introspection): their
members keep their standard names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from authservice.api.common_bodies import RequestBody, ResponseBody, Time, rule
from authservice.auth.rules import check_text
from authservice.core.clock import format_time
from authservice.database.tables import AUDIENCE_MAX_CHARS
from authservice.tokens.access_tokens import IssuedToken

__all__ = [
    "AccessTokenBody",
    "Introspection",
    "IssuerMetadata",
    "KeySet",
    "TokenRequest",
]

Audience = Annotated[
    str,
    rule(lambda value: check_text(value, "audience")),
    Field(
        min_length=1,
        max_length=AUDIENCE_MAX_CHARS,
        description="an audience the application registered (the URL of one of its APIs); "
        "without it, the token's audience is the application key",
    ),
]


class TokenRequest(RequestBody):
    audience: Audience | None = None


class AccessTokenBody(ResponseBody):
    access_token: str = Field(description="a JWT (RFC 9068), signed with a key of the JWKS")
    token_type: Literal["DPoP", "Bearer"] = Field(
        description="DPoP for a device-bound session: present it with a DPoP proof (RFC 9449) "
        "made with the device's key; else Bearer"
    )
    expires_in: int = Field(description="seconds from now")
    expires_at: Time

    @classmethod
    def of(cls, issued: IssuedToken) -> AccessTokenBody:
        return cls(
            access_token=issued.access_token,
            token_type=issued.token_type,
            expires_in=issued.expires_in_s,
            expires_at=format_time(issued.expires_at),
        )


class _Standard(BaseModel):
    """Members named as their standard names them."""

    model_config = ConfigDict(extra="allow")


class PublicKey(_Standard):
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str = Field(description="the RFC 7638 thumbprint of the key")
    use: Literal["sig"]
    alg: Literal["ES256"]


class KeySet(_Standard):
    keys: list[PublicKey]


class IssuerMetadata(_Standard):
    issuer: str
    jwks_uri: str
    introspection_endpoint: str
    introspection_endpoint_auth_methods_supported: list[str]
    access_token_signing_alg_values_supported: list[str]
    dpop_signing_alg_values_supported: list[str]
    response_types_supported: list[str]


class Confirmation(_Standard):
    jkt: str


class Introspection(_Standard):
    """`{"active": false}` for anything not live; the token's claims with `active: true`."""

    active: bool
    token_type: Literal["DPoP", "Bearer"] | None = None
    iss: str | None = None
    sub: str | None = None
    aud: str | None = None
    exp: int | None = None
    iat: int | None = None
    jti: str | None = None
    client_id: str | None = None
    sid: str | None = None
    cnf: Confirmation | None = None
