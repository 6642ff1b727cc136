"""Checking a DPoP proof (RFC 9449 4.3) that comes with a device-bound access token: signed by the
key whose thumbprint the token names (`cnf.jkt`), for this request's method and URL, for this
token (`ath`), made within the time window, and never seen before (`jti`).

`htu` is compared with the URL the backend is reached at, which it must be told (`public_url`):
taken from the request's own Host header, a proof made for another server could be replayed here
with that server's name.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import InvalidProof, ReplayedProof
from .jose import b64url, jwk_thumbprint, public_key_from_jwk, read_jws, verify_es256

__all__ = ["DpopChecker", "MemoryReplayCache", "ReplayCache", "access_token_hash", "request_url"]

PROOF_TYPE = "dpop+jwt"
_JTI = re.compile(r"[\x21-\x7e]{16,128}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ReplayCache(Protocol):
    """Where seen proofs are remembered. One process: `MemoryReplayCache`. A backend of several
    processes needs one they share (a database, Redis), or a replayed proof passes in another."""

    def add(self, key: str, expires_at_s: float) -> bool:
        """Remember `key` until `expires_at_s` (Unix time); False if it was there already."""
        ...


class MemoryReplayCache:
    """Seen proofs in this process's memory, each forgotten once it could no longer be accepted,
    and at most `max_entries` (beyond that the oldest go: a proof older than the window is refused
    by its `iat` anyway)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: dict[str, float] = {}
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryReplayCache(entries={len(self._seen)})"

    def add(self, key: str, expires_at_s: float) -> bool:
        with self._lock:
            now = time.time()
            if key in self._seen and self._seen[key] > now:
                return False
            if len(self._seen) >= self._max_entries:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
                while len(self._seen) >= self._max_entries:
                    self._seen.pop(next(iter(self._seen)))
            self._seen[key] = expires_at_s
            return True


@dataclass(frozen=True)
class DpopChecker:
    """The rules for proofs: how old (`max_age_s`) or how far ahead (`leeway_s`) a proof's `iat`
    may be, and where seen `jti`s are kept.

    The page dates its proofs by the device's clock, which may be minutes off: the window is the
    one the auth service gives its own Session-Proofs (300 s either way), so a device that can
    use its session can use its tokens too. A wider window lets no proof through twice (its `jti`
    is kept as long as the window accepts it), and each is for one request with one token, which
    itself expires within minutes."""

    replay_cache: ReplayCache
    max_age_s: float = 300.0
    leeway_s: float = 300.0
    clock: Callable[[], float] = time.time

    def check(self, proof: str, *, method: str, url: str, token: str, jkt: str) -> None:
        """Nothing if `proof` is right for this request and token; InvalidProof (or ReplayedProof)
        saying what is wrong otherwise."""
        try:
            header, claims, signing_input, signature = read_jws(proof)
        except ValueError:
            raise InvalidProof("The DPoP proof is not a compact JWS.") from None
        if header.get("typ") != PROOF_TYPE or header.get("alg") != "ES256":
            raise InvalidProof('The DPoP proof must have typ "dpop+jwt" and alg "ES256".')
        jwk: Any = header.get("jwk")
        try:
            key = public_key_from_jwk(jwk if isinstance(jwk, dict) else {})
        except ValueError:
            raise InvalidProof("The DPoP proof's jwk is not a public P-256 key.") from None
        if not verify_es256(key, signing_input, signature):
            raise InvalidProof("The DPoP proof's signature does not match its key.")
        if jwk_thumbprint(jwk) != jkt:
            raise InvalidProof(
                "The DPoP proof is signed by another key than the token is bound to."
            )
        if claims.get("htm") != method:
            raise InvalidProof("The DPoP proof is for another method.")
        if not _same_url(claims.get("htu"), url):
            raise InvalidProof("The DPoP proof is for another URL.")
        if claims.get("ath") != access_token_hash(token):
            raise InvalidProof("The DPoP proof is for another access token.")
        issued_at, jti, now = claims.get("iat"), claims.get("jti"), self.clock()
        if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
            raise InvalidProof("The DPoP proof has no iat.")
        if not now - self.max_age_s <= issued_at <= now + self.leeway_s:
            raise InvalidProof("The DPoP proof was not made just now (its iat is out of range).")
        if not (isinstance(jti, str) and _JTI.fullmatch(jti)):
            raise InvalidProof("The DPoP proof's jti must be 16 to 128 printable characters.")
        if not self.replay_cache.add(f"{jkt}:{jti}", issued_at + self.max_age_s + self.leeway_s):
            raise ReplayedProof("The DPoP proof was used before.")


def _same_url(htu: object, url: str) -> bool:
    try:
        return isinstance(htu, str) and request_url(htu) == request_url(url)
    except ValueError:  # a port that is not a number
        return False


def access_token_hash(token: str) -> str:
    """`ath`: base64url(SHA-256(the access token))."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def request_url(url: str) -> str:
    """A URL as `htu` compares it (RFC 9449 4.3, RFC 3986 6.2.2 and 6.2.3): no query, no fragment,
    scheme and host in lower case, no default port, at least "/" as the path.

    >>> request_url("HTTPS://Api.Example:443/notes?page=2#top")
    'https://api.example/notes'
    """
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", "", ""))
