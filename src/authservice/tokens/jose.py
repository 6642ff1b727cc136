"""The few pieces of JOSE the access tokens need: ES256 compact JWS (RFC 7515, 7518), P-256 public
JWKs (RFC 7517) and their thumbprints (RFC 7638). Nothing else is accepted: no other algorithm, no
JWE, no JSON serialization.

    >>> key = ec.generate_private_key(ec.SECP256R1())
    >>> token = sign_jws({"alg": "ES256", "typ": "at+jwt"}, {"sub": "alice"}, key)
    >>> header, claims, signing_input, signature = read_jws(token)
    >>> claims, verify_es256(key.public_key(), signing_input, signature)
    ({'sub': 'alice'}, True)
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
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

__all__ = [
    "MAX_TOKEN_CHARS",
    "b64url",
    "b64url_decode",
    "jwk_thumbprint",
    "public_jwk",
    "public_key_from_jwk",
    "read_jws",
    "sign_jws",
    "verify_es256",
]

# An access token is well under 1 KiB; anything far longer is not one of ours.
MAX_TOKEN_CHARS = 4096
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_COORDINATE_BYTES = 32  # P-256
_ECDSA = ec.ECDSA(hashes.SHA256())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """ValueError for anything but unpadded base64url."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }


def public_key_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """ValueError unless `jwk` is a public P-256 key whose point is on the curve."""
    x, y = jwk.get("x"), jwk.get("y")
    if (
        jwk.get("kty") != "EC"
        or jwk.get("crv") != "P-256"
        or not (isinstance(x, str) and isinstance(y, str))
    ):
        raise ValueError("not a public EC key on P-256")
    x_bytes, y_bytes = b64url_decode(x), b64url_decode(y)
    if len(x_bytes) != _COORDINATE_BYTES or len(y_bytes) != _COORDINATE_BYTES:
        raise ValueError("coordinates of the wrong size")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x_bytes, "big"), int.from_bytes(y_bytes, "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 of the key's required members, in lexical order, without whitespace.

    >>> jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AQ", "kid": "ignored"})
    'fpsA8udergWQQtZ5ijw9k_6RoFRa-SBsNr8jkweRkU4'
    """
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(text.encode("utf-8")).digest())


def sign_jws(
    header: Mapping[str, Any], claims: Mapping[str, Any], key: ec.EllipticCurvePrivateKey
) -> str:
    signing_input = f"{_b64json(header)}.{_b64json(claims)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), _ECDSA))
    signature = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return f"{signing_input}.{b64url(signature)}"


def read_jws(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """The header, the claims, the signing input and the signature (r and s) of a compact JWS,
    unverified; ValueError if it is not one."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_CHARS or len(parts) != 3:
        raise ValueError("not a compact JWS")
    signature = b""
    try:
        header, claims = (json.loads(b64url_decode(part)) for part in parts[:2])
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        header = claims = None
    if not (isinstance(header, dict) and isinstance(claims, dict)) or not signature:
        raise ValueError("not a compact JWS")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify_es256(key: ec.EllipticCurvePublicKey, signing_input: bytes, signature: bytes) -> bool:
    if len(signature) != 2 * _COORDINATE_BYTES:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:_COORDINATE_BYTES], "big"),
        int.from_bytes(signature[_COORDINATE_BYTES:], "big"),
    )
    try:
        key.verify(der, signing_input, _ECDSA)
    except InvalidSignature:
        return False
    return True


def _b64json(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))
