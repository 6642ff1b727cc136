"""A device's key pair and its proofs, made from docs/api.md ("Device-bound sessions") with
`cryptography` directly: neither the service's code nor the client library's."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.service.helpers import Api


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Device:
    """A browser profile's key pair, as the page makes it."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def jwk(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big")),
            # What WebCrypto's exportKey("jwk") adds: ignored.
            "ext": True,
            "key_ops": ["verify"],
        }

    def proof(self, method: str, path: str, session: Mapping[str, Any], **claims: Any) -> str:
        body = {
            "htm": method,
            "htu": path,
            "sid": session["sessionId"],
            "sth": b64(hashlib.sha256(session["sessionSecret"].encode()).digest()),
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(16),
            **claims,
        }
        header = {"typ": "session-proof+jwt", "alg": "ES256"}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def proved(proof: str) -> dict[str, str]:
    return {"Session-Proof": proof}


def bound_session(api: Api, username: str, device: Device) -> dict[str, Any]:
    reply = api.post(
        "/v1/sessions",
        {"applicationKey": api.application.key, "userTicket": api.ticket(username)}
        | {"deviceKey": device.jwk()},
    )
    assert reply.status == 201, reply
    return dict(reply.body)
