"""Secrets at rest (application secrets, the private halves of signing keys): AES-256-GCM under a
key derived from `server.key`, one derived key per kind of secret.

A sealed secret is `v1:` and base64url(12-byte nonce + ciphertext + 16-byte tag), without padding.
What the secret belongs to (the application key; the signing key's id) is the associated data, so
a sealed secret copied onto another row does not open. A value without the `v1:` prefix is a plain
secret from before sealing: a migration seals those (`seal` with the same application key);
`unseal` refuses them.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authservice.core.keys import derive_key

__all__ = ["SEALED_PREFIX", "SecretSealer", "SigningKeySealer"]

SEALED_PREFIX = "v1:"
_NONCE_BYTES = 12


class SecretSealer:
    """Application secrets, each sealed for its application's key."""

    purpose = "authservice application secrets v1"
    owner = "application"

    def __init__(self, server_key: bytes) -> None:
        self._aead = AESGCM(derive_key(server_key, self.purpose))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(AES-256-GCM, prefix={SEALED_PREFIX!r})"

    def seal(self, secret: str, owner_key: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode(), owner_key.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def unseal(self, stored: str, owner_key: str) -> str:
        """The secret; ValueError if `stored` is not sealed, or not by this server key for this
        owner."""
        if not stored.startswith(SEALED_PREFIX):
            raise ValueError(
                f"the secret of {self.owner} {owner_key!r} is not sealed; "
                "the database needs migrating"
            )
        text = stored.removeprefix(SEALED_PREFIX)
        sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, owner_key.encode()).decode()
        except InvalidTag:
            raise ValueError(
                f"the secret of {self.owner} {owner_key!r} does not open with this server key"
            ) from None


class SigningKeySealer(SecretSealer):
    """The private halves of the access tokens' signing keys, each sealed for its key id: a key of
    its own, so that no application secret and no signing key share one."""

    purpose = "authservice signing keys v1"
    owner = "signing key"
