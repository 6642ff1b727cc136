"""A device key for CPython clients (tests, bots, command-line tools), built on `cryptography`.

Optional: the core library needs only the standard library, and imports nothing from here.
Install `cryptography` to use it::

    signer = EcDeviceSigner.load_or_create(Path("~/.config/myapp/device-key.pem").expanduser())
    client = SessionClient(app_key, auth_url, signer=signer)

The private key is written once, readable by its owner only (0600), and never sent anywhere: a
session bound to it can be used only where this file is.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

__all__ = ["EcDeviceSigner"]


class EcDeviceSigner:
    """A `DeviceSigner` (authclient.proofs) holding one ECDSA P-256 key in memory."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self._key = private_key

    def __repr__(self) -> str:
        return f"EcDeviceSigner(has_key={self._key is not None})"

    @classmethod
    def load_or_create(cls, path: Path) -> EcDeviceSigner:
        """The key kept in `path` (PEM), made and written (0600) if the file does not exist."""
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path} does not hold an EC private key")
            return cls(key)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        return cls(key)

    def public_key(self, *, create: bool) -> dict[str, str] | None:
        if self._key is None:
            if not create:
                return None
            self._key = ec.generate_private_key(ec.SECP256R1())
        numbers = self._key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _coordinate(numbers.x),
            "y": _coordinate(numbers.y),
        }

    def sign(self, data: bytes) -> bytes | None:
        if self._key is None:
            return None
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _coordinate(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode("ascii")
