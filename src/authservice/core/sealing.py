"""Application secrets at rest: AES-256-GCM under a key derived from `server.key`.

A sealed secret is `v1:` and base64url(12-byte nonce + ciphertext + 16-byte tag), without padding.
The application key is the associated data, so a sealed secret copied onto another application's
row does not open. A value without the `v1:` prefix is a plain secret from before sealing: a
migration seals those (`seal` with the same application key); `unseal` refuses them.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authservice.core.keys import derive_key

__all__ = ["SEALED_PREFIX", "SecretSealer"]

SEALED_PREFIX = "v1:"
_PURPOSE = "authservice application secrets v1"
_NONCE_BYTES = 12


class SecretSealer:
    def __init__(self, server_key: bytes) -> None:
        self._aead = AESGCM(derive_key(server_key, _PURPOSE))

    def __repr__(self) -> str:
        return f"SecretSealer(AES-256-GCM, prefix={SEALED_PREFIX!r})"

    def seal(self, secret: str, application_key: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode(), application_key.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def unseal(self, stored: str, application_key: str) -> str:
        """The secret; ValueError if `stored` is not sealed, or not by this server key for this
        application."""
        if not stored.startswith(SEALED_PREFIX):
            raise ValueError(
                f"the secret of application {application_key!r} is not sealed; "
                "the database needs migrating"
            )
        text = stored.removeprefix(SEALED_PREFIX)
        sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, application_key.encode()).decode()
        except InvalidTag:
            raise ValueError(
                f"the secret of application {application_key!r} does not open with this server key"
            ) from None
