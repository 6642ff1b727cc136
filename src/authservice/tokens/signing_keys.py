"""The keys that sign access tokens: ES256 (P-256) key pairs made with `cryptography`, kept in the
database (SigningKeyRow) with their private halves sealed (core/sealing.py), each named by the
RFC 7638 thumbprint of its public half (`kid`).

The newest key not retired signs. Rotating retires every key and adds a new one, which signs from
then on; the retired ones stay in the JWKS, so the tokens they signed verify until they expire.
Removing a retired key takes it out of the JWKS: the tokens it signed fail from then on, so it is
refused while one of them may still be valid, unless forced.

Two processes that both find no key at once may each add one: both are then published, the newer
signs, and the next rotation retires both.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from authservice.core.sealing import SigningKeySealer
from authservice.database.tables import SigningKeyRow
from authservice.tokens.jose import b64url, b64url_decode, jwk_thumbprint, public_jwk

__all__ = ["KeyStillInUse", "NoSuchSigningKey", "SigningKey", "SigningKeys"]

ALGORITHM = "ES256"


class NoSuchSigningKey(ValueError):
    """No signing key has that id."""


class KeyStillInUse(ValueError):
    """The key signs, or tokens it signed may still be valid."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_key: dict[str, str]
    created_at: datetime
    retired_at: datetime | None
    private_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)

    @property
    def jwk(self) -> dict[str, str]:
        """As the JWKS publishes it (RFC 7517)."""
        return {**self.public_key, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


class SigningKeys:
    """The signing keys of one database. Private keys are unsealed once per process and kept in
    memory by id (a key never changes; only whether it signs does)."""

    def __init__(self, server_key: bytes) -> None:
        self._sealer = SigningKeySealer(server_key)
        self._opened: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SigningKeys(opened={len(self._opened)})"

    def current(self, db: Session, now: datetime) -> SigningKey:
        """The key that signs now, with its private half; the first one is made if there is none."""
        row = db.scalars(
            select(SigningKeyRow)
            .where(SigningKeyRow.retired_at.is_(None))
            .order_by(SigningKeyRow.created_at.desc(), SigningKeyRow.kid)
            .limit(1)
        ).first()
        if row is None:
            row = self._add(db, now)
        return _key(row, self._private(row))

    def published(self, db: Session) -> list[SigningKey]:
        """Every key not removed, the newest first: what the JWKS holds."""
        rows = db.scalars(
            select(SigningKeyRow).order_by(SigningKeyRow.created_at.desc(), SigningKeyRow.kid)
        )
        return [_key(row) for row in rows]

    def rotate(self, db: Session, now: datetime) -> SigningKey:
        """Retire every key that signs and add a new one, which signs from now on."""
        db.execute(
            update(SigningKeyRow).where(SigningKeyRow.retired_at.is_(None)).values(retired_at=now)
        )
        return _key(self._add(db, now))

    def remove(
        self, db: Session, kid: str, now: datetime, token_ttl_s: float, *, force: bool
    ) -> None:
        """Take a retired key out of the JWKS. KeyStillInUse while it signs, or (unless `force`)
        while a token it signed may be valid: until `token_ttl_s` after it was retired."""
        row = db.get(SigningKeyRow, kid)
        if row is None:
            raise NoSuchSigningKey(f"no signing key has the id {kid!r}")
        if row.retired_at is None:
            raise KeyStillInUse(
                f"signing key {kid} signs the tokens issued now: rotate-signing-key first"
            )
        valid_until = row.retired_at + timedelta(seconds=token_ttl_s)
        if now < valid_until and not force:
            raise KeyStillInUse(
                f"tokens signed by {kid} may be valid until {valid_until:%Y-%m-%d %H:%M:%S} UTC "
                "(retired then, plus --access-token-ttl-s): try again then, or give --force, "
                "and those tokens fail at once"
            )
        db.delete(row)
        self._opened.pop(kid, None)

    def _add(self, db: Session, now: datetime) -> SigningKeyRow:
        private = ec.generate_private_key(ec.SECP256R1())
        public = public_jwk(private.public_key())
        kid = jwk_thumbprint(public)
        scalar = b64url(private.private_numbers().private_value.to_bytes(32, "big"))
        row = SigningKeyRow(
            kid=kid,
            public_key=json.dumps(public, separators=(",", ":")),
            private_key=self._sealer.seal(scalar, kid),
            created_at=now,
            retired_at=None,
        )
        db.add(row)
        db.flush()
        with self._lock:
            self._opened[kid] = private
        return row

    def _private(self, row: SigningKeyRow) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            opened = self._opened.get(row.kid)
        if opened is None:
            scalar = b64url_decode(self._sealer.unseal(row.private_key, row.kid))
            opened = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
            with self._lock:
                self._opened[row.kid] = opened
        return opened


def _key(row: SigningKeyRow, private: ec.EllipticCurvePrivateKey | None = None) -> SigningKey:
    public: Any = json.loads(row.public_key)
    return SigningKey(row.kid, public, row.created_at, row.retired_at, private)
