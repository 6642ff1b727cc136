"""Proofs of possession for device-bound sessions (docs/api.md, "Device-bound sessions").

A client given a `DeviceSigner` sends the signer's public key when it signs in, and the service
binds the session to it. Every later use of the session then carries a `Session-Proof` header: a
compact JWS (ES256) over the method, the path, the session id, a thumbprint of the secret
presented (which names the session's generation), the time and a fresh `jti`. A copy of the
session object is useless without the key, and the key never leaves the signer: in the browser it
is a non-extractable WebCrypto key (src/webapp/browser/device_key.py); in CPython,
`authclient.ec_signer` (needs `cryptography`) shows the way.

A device whose clock is far off is not shut out: the service's answers to a request with a proof
carry a `Session-Proof-Nonce` (its own time, under its MAC); a proof that carries the last one as
its `nonce` claim is judged by the service's clock instead of the device's. A proof refused for its
time alone is answered `use_proof_nonce` with a fresh nonce: the client signs it and tries once more.

The same key makes the standard RFC 9449 DPoP proofs (`make_dpop_proof`) that go with a
device-bound access token to the application's own backend.

The signing is all here, in the standard library; a signer only keeps a key and signs bytes.

    >>> claims = proof_claims("POST", "https://a.example/v1/me", "ses_1", "s3cret", 1.5, "j1")
    >>> claims["htu"], claims["iat"], claims["sth"]
    ('/v1/me', 1, 'HsHCa1DV08WNlYMYGvgHZlX-AHVr9yhZQLo2cPmfy6A')
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
from typing import Any, Protocol

__all__ = [
    "DPOP_HEADER",
    "NONCE_HEADER",
    "PROOF_HEADER",
    "DeviceSigner",
    "dpop_claims",
    "make_dpop_proof",
    "make_proof",
    "proof_claims",
]

PROOF_HEADER = "Session-Proof"
NONCE_HEADER = "Session-Proof-Nonce"
# What carries a proof to an application's backend with a device-bound access token (RFC 9449).
DPOP_HEADER = "DPoP"
_HEADER = {"typ": "session-proof+jwt", "alg": "ES256"}


class DeviceSigner(Protocol):
    """A key pair (ECDSA P-256) that stays where it was made."""

    def public_key(self, *, create: bool) -> dict[str, str] | None:
        """The public key as a JWK; with `create`, made first if there is none. None: no key
        (never made, or lost), so the client sends no proof and the service says so."""
        ...

    def sign(self, data: bytes) -> bytes | None:
        """The ES256 signature of `data`: r and s, 32 bytes each, as WebCrypto gives it; None
        when there is no key. (One call, not a `public_key` check first: in the page each call
        is a round trip to the main thread, on the start-up path of every resume.)"""
        ...


def make_proof(
    signer: DeviceSigner,
    method: str,
    url: str,
    session_id: str,
    secret: str,
    *,
    nonce: str | None = None,
    now_s: float | None = None,
) -> str | None:
    """The Session-Proof header's value for one request, or None if the signer has no key; with
    the service's last `nonce`, if there is one, and the time `now_s` (default: this clock's)."""
    now_s = time.time() if now_s is None else now_s
    claims = proof_claims(method, url, session_id, secret, now_s, secrets.token_urlsafe(24))
    if nonce is not None:
        claims["nonce"] = nonce
    signing_input = f"{_b64json(_HEADER)}.{_b64json(claims)}"
    signature = signer.sign(signing_input.encode("ascii"))
    return None if signature is None else f"{signing_input}.{_b64(signature)}"


def proof_claims(
    method: str, url: str, session_id: str, secret: str, now_s: float, jti: str
) -> dict[str, Any]:
    # The path only: the service cannot know the public URL a proxy in front of it answers to.
    return {
        "htm": method,
        "htu": urllib.parse.urlsplit(url).path,
        "sid": session_id,
        "sth": _b64(hashlib.sha256(secret.encode("utf-8")).digest()),
        "iat": int(now_s),
        "jti": jti,
    }


def _b64json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_dpop_proof(signer: DeviceSigner, method: str, url: str, access_token: str) -> str | None:
    """An RFC 9449 DPoP proof for one request to an application's backend with a device-bound
    access token (its `DPoP` header), signed by the same device key; None if the signer has no
    key. `htu` is the URL without its query and fragment; `ath` names the token."""
    public_key = signer.public_key(create=False)
    if public_key is None:
        return None
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_key}
    claims = dpop_claims(method, url, access_token, time.time(), secrets.token_urlsafe(24))
    signing_input = f"{_b64json(header)}.{_b64json(claims)}"
    signature = signer.sign(signing_input.encode("ascii"))
    return None if signature is None else f"{signing_input}.{_b64(signature)}"


def dpop_claims(method: str, url: str, access_token: str, now_s: float, jti: str) -> dict[str, Any]:
    """
    >>> dpop_claims("GET", "https://api.example/notes?page=2#top", "eyJ", 7.9, "j1")["htu"]
    'https://api.example/notes'
    """
    parts = urllib.parse.urlsplit(url)
    return {
        "htm": method,
        "htu": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(now_s),
        "jti": jti,
        "ath": _b64(hashlib.sha256(access_token.encode("ascii")).digest()),
    }
