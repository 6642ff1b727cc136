"""Password hashes (argon2id), checked in the same time whether or not the user exists."""

from __future__ import annotations

import secrets

import argon2

__all__ = ["PasswordHasher"]


class PasswordHasher:
    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        # argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
        self._hasher = hasher or argon2.PasswordHasher()
        # Checking against this when there is no user (or no password) costs what a real check does.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def __repr__(self) -> str:
        return f"PasswordHasher(type=argon2id, time_cost={self._hasher.time_cost})"

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
