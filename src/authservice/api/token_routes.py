"""The token routes under /v1 (docs/api.md, Access tokens): a token for the caller's session, the
keys that verify tokens and the issuer's metadata (both cacheable, unlike the rest of the API), and
introspection for an application's backend. They translate between HTTP and TokenService.

Introspection's body is a form (RFC 7662), read here with the standard library: the service has no
multipart parser, and needs none for one field.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from authservice.api.common_bodies import ERRORS, error_responses
from authservice.api.dependencies import Presented, Tokens, client_address
from authservice.api.token_bodies import (
    AccessTokenBody,
    Introspection,
    IssuerMetadata,
    KeySet,
    TokenRequest,
)
from authservice.core.errors import InvalidClient, InvalidRequest
from authservice.core.threads import in_thread
from authservice.tokens.use_cases import INTROSPECTION_PATH, JWKS_PATH, METADATA_PATH

__all__ = ["PUBLISHED_MAX_AGE_S", "router"]

router = APIRouter(prefix="/v1")

# How long a cache may keep the JWKS and the metadata: a key added by a rotation signs at once,
# and a verifier that meets its kid fetches the JWKS again, which a cache in between may answer
# with the old one for this long.
PUBLISHED_MAX_AGE_S = 300
_CACHEABLE = {"Cache-Control": f"public, max-age={PUBLISHED_MAX_AGE_S}"}
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_FIELDS = 8

_DESCRIBED = {
    **ERRORS,
    400: f"{ERRORS[400]}; `audience` not one the application registered",
    401: f"{ERRORS[401]}; `invalid_client` for introspection without the application's key and "
    "secret (HTTP Basic)",
    501: "`tokens_not_configured`: the service was started without an issuer",
}


@router.post(
    "/tokens",
    summary="An access token for this session, for the application's own backend",
    responses=error_responses(400, 401, 413, 501, 503, described=_DESCRIBED),
)
async def issue_token(
    presented: Presented,
    tokens: Tokens,
    body: Annotated[TokenRequest | None, Body()] = None,
) -> AccessTokenBody:
    issued = await in_thread(tokens.issue, presented, body.audience if body else None)
    return AccessTokenBody.of(issued)


@router.get(
    JWKS_PATH,
    summary="The keys that verify access tokens (JWKS, RFC 7517); cacheable",
    response_model=KeySet,
    responses=error_responses(503),
)
async def key_set(tokens: Tokens) -> JSONResponse:
    return JSONResponse(await in_thread(tokens.key_set), headers=_CACHEABLE)


@router.get(
    METADATA_PATH,
    summary="The issuer's metadata (in the shape of RFC 8414); cacheable",
    response_model=IssuerMetadata,
    responses=error_responses(501, described=_DESCRIBED),
)
async def issuer_metadata(tokens: Tokens) -> JSONResponse:
    return JSONResponse(tokens.metadata(), headers=_CACHEABLE)


@router.post(
    INTROSPECTION_PATH,
    summary="Whether an access token is live, its session checked now (RFC 7662)",
    response_model=Introspection,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 413, 501, 503, described=_DESCRIBED),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {
                            "token": {"type": "string"},
                            "token_type_hint": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def introspect(request: Request, tokens: Tokens) -> dict[str, Any]:
    application_key, secret = _basic_credentials(request.headers.get("authorization", ""))
    token = _form_token(request.headers.get("content-type", ""), await request.body())
    return await in_thread(
        tokens.introspect, application_key, secret, token, client_address(request)
    )


def _basic_credentials(header: str) -> tuple[str, str]:
    """The application key and secret of an `Authorization: Basic` header (each form-encoded
    first, as RFC 6749 2.3.1 says); InvalidClient without one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient() from None
    key, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient()
    return urllib.parse.unquote_plus(key), urllib.parse.unquote_plus(secret)


def _form_token(content_type: str, body: bytes) -> str:
    if content_type.split(";")[0].strip().lower() != _FORM:
        raise InvalidRequest(f"Send the token as a form ({_FORM}): token=<the access token>.")
    try:
        fields = urllib.parse.parse_qs(
            body.decode("utf-8"), strict_parsing=False, max_num_fields=_MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form is not valid.") from None
    tokens = fields.get("token", [])
    if len(tokens) != 1 or not tokens[0]:
        raise InvalidRequest("The form needs one field token, the access token.", field="token")
    return tokens[0]
