"""The verifier as a FastAPI dependency: a route that takes `VerifiedToken` runs only for a request
with a valid access token (and, for a device-bound one, a valid DPoP proof); any other gets the
error's status, its `WWW-Authenticate` challenge and `{"error", "message"}`.

    caller = AccessTokenAuth(AccessTokenVerifier(issuer=..., audience=...),
                             public_url="https://api.example")

    @app.get("/notes")
    def notes(token: Annotated[VerifiedToken, Depends(caller)]) -> ...

It is a plain (sync) dependency, so FastAPI runs it in its thread pool: fetching the issuer's keys,
now and then, holds no event loop. The URL a proof must name is `public_url` and the request's
path, never what the request's Host header says (see dpop.py).
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from .errors import TokenRefused
from .tokens import AccessTokenVerifier, VerifiedToken

__all__ = ["AccessTokenAuth"]


class AccessTokenAuth:
    def __init__(self, verifier: AccessTokenVerifier, *, public_url: str) -> None:
        self.verifier = verifier
        self.public_url = public_url.rstrip("/")

    def __repr__(self) -> str:
        return f"AccessTokenAuth({self.verifier!r}, public_url={self.public_url!r})"

    def __call__(self, request: Request) -> VerifiedToken:
        try:
            return self.verifier.authenticate(
                authorization=request.headers.get("authorization"),
                dpop=request.headers.get("dpop"),
                method=request.method,
                url=self.public_url + request.url.path,
            )
        except TokenRefused as refused:
            headers = {"Cache-Control": "no-store"}
            if refused.status != 503:
                headers["WWW-Authenticate"] = refused.www_authenticate
            raise HTTPException(
                refused.status,
                detail={"error": refused.error or "unauthorized", "message": refused.description},
                headers=headers,
            ) from None
