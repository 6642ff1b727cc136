"""The JOSE the verifier reads: compact JWS signed with ES256 (RFC 7515, 7518), P-256 public JWKs
(RFC 7517) and their thumbprints (RFC 7638). Nothing else is accepted: no other algorithm, no
`none`, no JWE, no JSON serialization. The auth service signs with the same definitions.

    >>> jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AQ", "kid": "ignored"})
    'fpsA8udergWQQtZ5ijw9k_6RoFRa-SBsNr8jkweRkU4'
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = [
    "COORDINATE_BYTES",
    "ECDSA_SHA256",
    "MAX_JWS_CHARS",
    "b64url",
    "b64url_decode",
    "jwk_thumbprint",
    "public_key_from_jwk",
    "read_jws",
    "verify_es256",
]

# A token or a proof is well under 2 KiB; anything far longer is not one.
MAX_JWS_CHARS = 4096
COORDINATE_BYTES = 32  # P-256
ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """ValueError for anything but unpadded base64url."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """ValueError unless `jwk` is a public P-256 key (no private member) whose point is on the
    curve."""
    x, y = jwk.get("x"), jwk.get("y")
    if (
        jwk.get("kty") != "EC"
        or jwk.get("crv") != "P-256"
        or "d" in jwk
        or not (isinstance(x, str) and isinstance(y, str))
    ):
        raise ValueError("not a public EC key on P-256")
    x_bytes, y_bytes = b64url_decode(x), b64url_decode(y)
    if len(x_bytes) != COORDINATE_BYTES or len(y_bytes) != COORDINATE_BYTES:
        raise ValueError("coordinates of the wrong size")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x_bytes, "big"), int.from_bytes(y_bytes, "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 for an EC key: SHA-256 of its required members, in lexical order, no whitespace."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(text.encode("utf-8")).digest())


def read_jws(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """The header, the payload, the signing input and the signature of a compact JWS, unverified;
    ValueError if it is not one."""
    parts = token.split(".")
    if len(token) > MAX_JWS_CHARS or len(parts) != 3:
        raise ValueError("not a compact JWS")
    header: Any = None
    payload: Any = None
    signature = b""
    try:
        header, payload = (json.loads(b64url_decode(part)) for part in parts[:2])
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    if not (isinstance(header, dict) and isinstance(payload, dict)) or not signature:
        raise ValueError("not a compact JWS")
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify_es256(key: ec.EllipticCurvePublicKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether `signature` (r and s, 32 bytes each, as JWS has it) is `key`'s over the input."""
    if len(signature) != 2 * COORDINATE_BYTES:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:COORDINATE_BYTES], "big"),
        int.from_bytes(signature[COORDINATE_BYTES:], "big"),
    )
    try:
        key.verify(der, signing_input, ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True
