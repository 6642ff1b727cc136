"""Random identifiers and secrets, their hashes, and the server key with the keys derived from it.

`server.key` (in the data folder, 0600) is the one long-term key. Rotated session secrets are an
HMAC under it (derive_next_secret); every other use gets a key of its own from HKDF-SHA256 with a
purpose label, so that no two uses share a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authservice.core.files import ensure_private_dir
from authservice.core.settings import Settings

__all__ = [
    "derive_key",
    "derive_next_secret",
    "derive_rotated_secret",
    "hash_secret",
    "keyed_digest",
    "load_or_create_server_key",
    "load_server_key",
    "new_application_key",
    "new_secret",
    "new_session_id",
    "secret_matches",
]

_SECRET_BYTES = 32  # 256 bits
_SERVER_KEY_BYTES = 32


def new_application_key() -> str:
    return "app_" + secrets.token_hex(16)


def new_session_id() -> str:
    return "ses_" + secrets.token_hex(16)


def new_secret() -> str:
    """43 url-safe characters."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


def derive_next_secret(server_key: bytes, session_id: str, previous: str) -> str:
    """The secret a rotation gives a session whose current secret is `previous`. Deterministic, so
    a repeated resume with the same previous secret gets the same new one; known before the
    session's row is read, so that a resume can rotate in the one statement that checks it."""
    return _mac(server_key, f"{session_id}|{previous}")


def derive_rotated_secret(
    server_key: bytes, session_id: str, generation: int, previous: str
) -> str:
    """What versions before issue 26 derived, with the new generation in the message: a session
    they rotated last still answers its previous secret with this one, in the grace window."""
    return _mac(server_key, f"{session_id}|{generation}|{previous}")


def _mac(server_key: bytes, message: str) -> str:
    # hmac.digest, OpenSSL's one-shot HMAC: about half the CPU of hmac.new for a message this short.
    digest = hmac.digest(server_key, message.encode(), "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def derive_key(server_key: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose (e.g. "application secrets v1")."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(server_key)


def keyed_digest(key: bytes, text: str) -> str:
    """HMAC-SHA256 as hex: names a value (a username, an address) without storing or logging it."""
    return hmac.digest(key, text.encode(), "sha256").hex()


def load_server_key(settings: Settings) -> bytes:
    """The configured key, or the one in the data folder (created on first use)."""
    if settings.server_key is not None:
        return settings.server_key
    ensure_private_dir(settings.data_dir)
    return load_or_create_server_key(settings.server_key_path)


def load_or_create_server_key(path: Path) -> bytes:
    """Read the key file, or create it (mode 0600) with a fresh key.

    The new file is written aside and linked into place, so a second process starting at the same
    moment reads either no file or a whole one.
    """
    if not path.exists():
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(base64.urlsafe_b64encode(secrets.token_bytes(_SERVER_KEY_BYTES)).decode())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    text = path.read_text().strip()
    key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(key) < _SERVER_KEY_BYTES:
        raise ValueError(f"{path} holds a key shorter than {_SERVER_KEY_BYTES} bytes")
    return key
