"""What the access-token tests share: reading a token without verifying it, asking for one, and
introspecting one, over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from authclient.proofs import make_proof
from authclient.verifier.jose import jwk_thumbprint
from tests.service.helpers import Api, Reply, bearer


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the claims of a JWT, as anyone can read them."""
    header, claims = (
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in token.split(".")[:2]
    )
    return header, claims


def ask_token(
    api: Api,
    session: Mapping[str, Any],
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    if body is None:
        return api.request("POST", "/v1/tokens", headers={**bearer(session), **(headers or {})})
    return api.request(
        "POST", "/v1/tokens", json_body=body, headers={**bearer(session), **(headers or {})}
    )


def introspect(api: Api, token: str, key: str | None = None, secret: str | None = None) -> Reply:
    user = f"{key or api.application.key}:{secret or api.application.secret}"
    return api.request(
        "POST",
        "/v1/introspect",
        body=f"token={token}".encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(user.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def proof_header(signer: Any, method: str, path: str, session: Mapping[str, Any]) -> dict[str, str]:
    proof = make_proof(signer, method, path, session["sessionId"], session["sessionSecret"])
    return {"Session-Proof": proof or ""}


def thumbprint(signer: Any) -> str:
    return jwk_thumbprint(signer.public_key(create=False))
