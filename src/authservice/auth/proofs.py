"""Device-bound sessions: the device's public key, and the proof of possession that every use of a
bound session must carry.

Designed after DPoP (RFC 9449). At sign-in a client may send `deviceKey`, the public half of an
ECDSA P-256 key pair that never leaves its device (in the browser: a non-extractable WebCrypto
key in IndexedDB). The session is then bound to that key: every use of it (resume, /me, sign-out,
revoke-all) must carry the header

    Session-Proof: <compact JWS, ES256>

whose header is `{"typ": "session-proof+jwt", "alg": "ES256"}` and whose claims are

    htm  the request's method          htu  the request's path (/v1/sessions/resume)
    sid  the session id                sth  base64url(SHA-256(the secret presented)), which names
    iat  Unix time (s)                      the session's generation, as DPoP's `ath` names a token
    jti  a fresh random id (16 to 64 characters of A-Z a-z 0-9 _ -)
    nonce  optional: the last Session-Proof-Nonce the service sent (see below)

A proof is refused when its signature is not the session's key's, when any claim names another
request, session or generation, when `iat` is more than CLOCK_SKEW_S away from the service's
clock, or when its `jti` was seen before (ProofNonceRow, kept until the proof could no longer be
accepted).

A device whose clock is off by more than that is not shut out (after DPoP's server-provided nonce,
RFC 9449 §8): every answer to a request with a proof carries a fresh `Session-Proof-Nonce` header,
the service's time and a MAC under a key of its own (stateless: nothing is stored). A proof that
carries it as its `nonce` claim is judged by the nonce's time instead of its own `iat`, within the
same window, and its `jti` is spent as any other. A proof refused for its time alone is answered
`use_proof_nonce` (401, not a rejection of the session), with a nonce to sign. Unlike DPoP the key is not sent in the proof: the service already holds it, and a proof
signed by any other key is simply wrong. The path, not the full URL, is signed, because the
service cannot know the public URL a proxy in front of it answers to.

A refused proof changes nothing: it is checked before the secret, so a copy of the session object
without the key can neither use the session nor, by presenting a rotated-out secret, make the
service revoke it under its owner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from authservice.core.errors import ProofInvalid, ProofRequired, UseProofNonce

__all__ = [
    "CLOCK_SKEW_S",
    "NONCE_HEADER",
    "NO_PROOF",
    "PROOF_HEADER",
    "PROOF_TYPE",
    "ProofClaims",
    "ProofNonces",
    "ProofRequest",
    "check_proof",
    "device_key_json",
    "nonce_expiry",
    "secret_thumbprint",
]

PROOF_HEADER = "Session-Proof"
NONCE_HEADER = "Session-Proof-Nonce"
PROOF_TYPE = "session-proof+jwt"
# How far a proof's `iat` may be from the service's clock, either way: clocks of phones and laptops
# drift by seconds to a minute; a proof is made just before its request is sent.
CLOCK_SKEW_S = 300
# A proof's size bound: header, claims and signature are well under 1 KiB.
_MAX_PROOF_CHARS = 2048
_JTI = re.compile(r"[A-Za-z0-9_-]{16,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# A P-256 coordinate: 32 bytes, base64url without padding.
_COORDINATE = re.compile(r"[A-Za-z0-9_-]{43}")
# A nonce: the service's Unix time (s), a dot, 22 base64url characters of MAC (128 bits).
_NONCE = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{22})")


@dataclass(frozen=True)
class ProofRequest:
    """The request a proof must match, as the service received it."""

    proof: str | None  # the Session-Proof header, if any
    method: str
    path: str


# What a caller in this process (not over HTTP) presents: enough for unbound sessions only.
NO_PROOF = ProofRequest(proof=None, method="", path="")


@dataclass(frozen=True)
class ProofClaims:
    jti: str
    issued_at: datetime  # the time the proof is judged by: its nonce's, else its own `iat`


class ProofNonces:
    """Nonces that carry the service's time, under a MAC: any process with the same key (every
    process of a deployment derives it from server.key) reads any other's.

    >>> nonces = ProofNonces(b"k" * 32)
    >>> moment = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    >>> nonces.read(nonces.issue(moment)) == moment
    True
    >>> nonces.read("1764216000.AAAAAAAAAAAAAAAAAAAAAA") is None
    True
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "ProofNonces()"

    def issue(self, now: datetime) -> str:
        seconds = str(int(now.timestamp()))
        return f"{seconds}.{self._mac(seconds)}"

    def read(self, nonce: object) -> datetime | None:
        """The time a nonce of ours was issued; None for anything else."""
        match = _NONCE.fullmatch(nonce) if isinstance(nonce, str) else None
        if match is None or not hmac.compare_digest(match[2], self._mac(match[1])):
            return None
        return datetime.fromtimestamp(int(match[1]), UTC)

    def _mac(self, seconds: str) -> str:
        digest = hmac.new(self._key, seconds.encode(), hashlib.sha256).digest()
        return _b64encode(digest[:16])


def device_key_json(jwk: Mapping[str, Any]) -> str:
    """The public JWK of a P-256 key as stored with the session (only the members that make the
    key); ValueError with a sentence if it is not one."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("The deviceKey must be an EC key on the curve P-256 (a public JWK).")
    if "d" in jwk:
        raise ValueError("The deviceKey must be the public key only: never send the private one.")
    x, y = jwk.get("x"), jwk.get("y")
    if not (isinstance(x, str) and _COORDINATE.fullmatch(x)) or not (
        isinstance(y, str) and _COORDINATE.fullmatch(y)
    ):
        raise ValueError("The deviceKey's x and y must be 43 base64url characters each.")
    try:
        _public_key(x, y)
    except ValueError:
        raise ValueError("The deviceKey is not a point on the curve P-256.") from None
    return json.dumps({"kty": "EC", "crv": "P-256", "x": x, "y": y}, separators=(",", ":"))


def check_proof(
    request: ProofRequest,
    *,
    device_key: str,
    session_id: str,
    secret: str,
    now: datetime,
    nonces: ProofNonces,
) -> ProofClaims:
    """The proof's claims once everything in it is right; ProofRequired or ProofInvalid (whose
    `reason` says what was wrong) otherwise, and UseProofNonce when only its time is (its own
    `iat`, or its nonce's, is too far from `now`). Whether its `jti` is new is the caller's to
    check."""
    if not request.proof:
        raise ProofRequired()
    header, claims, signing_input, signature = _read_jws(request.proof)
    if header.get("typ") != PROOF_TYPE or header.get("alg") != "ES256":
        raise ProofInvalid("type")
    key = json.loads(device_key)
    try:
        _public_key(key["x"], key["y"]).verify(signature, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ProofInvalid("signature") from None
    expected = {
        "htm": request.method,
        "htu": request.path,
        "sid": session_id,
        "sth": secret_thumbprint(secret),
    }
    for name, value in expected.items():
        if claims.get(name) != value:
            raise ProofInvalid(name)
    jti, iat = claims.get("jti"), claims.get("iat")
    if not (isinstance(jti, str) and _JTI.fullmatch(jti)):
        raise ProofInvalid("jti")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise ProofInvalid("iat")
    judged_by = datetime.fromtimestamp(iat, UTC)
    if "nonce" in claims:
        nonce_time = nonces.read(claims["nonce"])
        if nonce_time is None:
            raise ProofInvalid("nonce")
        judged_by = nonce_time
    if abs((now - judged_by).total_seconds()) > CLOCK_SKEW_S:
        raise UseProofNonce()
    return ProofClaims(jti=jti, issued_at=judged_by)


def nonce_expiry(claims: ProofClaims) -> datetime:
    """Until when a proof's `jti` must be remembered: past that, its time (its nonce's, or its
    `iat`) is refused anyway."""
    return claims.issued_at + timedelta(seconds=CLOCK_SKEW_S)


def secret_thumbprint(secret: str) -> str:
    """`sth`: base64url(SHA-256(secret)), unpadded."""
    return _b64encode(hashlib.sha256(secret.encode()).digest())


def _read_jws(proof: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = proof.split(".")
    if len(proof) > _MAX_PROOF_CHARS or len(parts) != 3:
        raise ProofInvalid("format")
    try:
        header, claims = (json.loads(_b64decode(part)) for part in parts[:2])
        raw = _b64decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise ProofInvalid("format") from None
    if not (isinstance(header, dict) and isinstance(claims, dict)) or len(raw) != 64:
        raise ProofInvalid("format")
    # JWS's ES256 signature is r and s, 32 bytes each; cryptography verifies their DER form.
    signature = encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def _public_key(x: str, y: str) -> ec.EllipticCurvePublicKey:
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_b64decode(x), "big"), int.from_bytes(_b64decode(y), "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
