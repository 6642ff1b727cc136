"""Signing access tokens: ES256 compact JWS and the public JWK of a signing key. What reads them
back (the JWS, the JWK, the thumbprint) is the verifier's own definition, which the application's
backend runs too (authclient.verifier.jose): one definition of the format on both sides.

    >>> key = ec.generate_private_key(ec.SECP256R1())
    >>> token = sign_jws({"alg": "ES256", "typ": "at+jwt"}, {"sub": "alice"}, key)
    >>> header, claims, signing_input, signature = read_jws(token)
    >>> claims, verify_es256(key.public_key(), signing_input, signature)
    ({'sub': 'alice'}, True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from authclient.verifier.jose import (
    COORDINATE_BYTES,
    ECDSA_SHA256,
    b64url,
    b64url_decode,
    jwk_thumbprint,
    public_key_from_jwk,
    read_jws,
    verify_es256,
)

__all__ = [
    "b64url",
    "b64url_decode",
    "jwk_thumbprint",
    "public_jwk",
    "public_key_from_jwk",
    "read_jws",
    "sign_jws",
    "verify_es256",
]


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(COORDINATE_BYTES, "big")),
        "y": b64url(numbers.y.to_bytes(COORDINATE_BYTES, "big")),
    }


def sign_jws(
    header: Mapping[str, Any], claims: Mapping[str, Any], key: ec.EllipticCurvePrivateKey
) -> str:
    signing_input = f"{_b64json(header)}.{_b64json(claims)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ECDSA_SHA256))
    signature = r.to_bytes(COORDINATE_BYTES, "big") + s.to_bytes(COORDINATE_BYTES, "big")
    return f"{signing_input}.{b64url(signature)}"


def _b64json(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))
