"""Signing-key management (`python -m authservice rotate-signing-key`, `remove-signing-key`,
`list-signing-keys`): the keys that sign access tokens (tokens/signing_keys.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from authservice.core.clock import format_time, utc_now
from authservice.core.keys import load_server_key
from authservice.core.settings import Settings
from authservice.database.engine import one_off_session
from authservice.tokens.signing_keys import SigningKey, SigningKeys

__all__ = ["describe_key", "list_signing_keys", "remove_signing_key", "rotate_signing_key"]


def rotate_signing_key(settings: Settings) -> SigningKey:
    """Retire the key that signs, and add the one that signs from now on."""
    with _keys(settings) as (db, keys), db.begin():
        return keys.rotate(db, utc_now())


def remove_signing_key(settings: Settings, kid: str, *, force: bool = False) -> None:
    """Take a retired key out of the JWKS (ValueError, saying why, when it may not go yet)."""
    with _keys(settings) as (db, keys), db.begin():
        keys.remove(db, kid, utc_now(), settings.access_token_ttl_s, force=force)


def list_signing_keys(settings: Settings) -> list[SigningKey]:
    with _keys(settings) as (db, keys), db.begin():
        return keys.published(db)


def describe_key(key: SigningKey) -> dict[str, str | None]:
    return {
        "kid": key.kid,
        "createdAt": format_time(key.created_at),
        "retiredAt": None if key.retired_at is None else format_time(key.retired_at),
    }


@contextmanager
def _keys(settings: Settings) -> Iterator[tuple[Session, SigningKeys]]:
    with one_off_session(settings) as db:
        yield db, SigningKeys(load_server_key(settings))
